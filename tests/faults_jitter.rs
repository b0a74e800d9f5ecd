//! Delay jitter drawn from netem's distributions, seen from outside: a Pareto jitter never
//! takes a delay below `delay - 2/3 jitter` (its distribution's floor), over every
//! transport. The shapes themselves (mean, spread, correlation of seeded draws) are tested
//! exactly in `src/faults/jitter.rs`. Times are checked only from below.

mod faults_support;
mod transports;
mod util;

use std::time::{Duration, Instant};

use faults_support::{PATIENCE, client, spawn};
use socket_echo::Options;
use transports::{Kind, Site};

/// 20 echoes through `delay=30ms,jitter=30ms,dist=pareto,correlation=25%`: each takes at
/// least 30 - 20 = 10 ms, and each was delayed.
fn check_pareto_floor<T: Kind>(site: &Site<T>, resends: Option<u32>) {
    let handle = spawn(
        site,
        "delay=30ms,jitter=30ms,dist=pareto,correlation=25%",
        Options::new(),
    );
    let mut client = client(site.transport, handle.local_addr(), PATIENCE, resends);
    for i in 0..20u8 {
        let start = Instant::now();
        assert_eq!(&client.echo(&[i; 16]).unwrap()[..], [i; 16]);
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(10),
            "echo {i}: {elapsed:?}"
        );
    }
    drop(client);
    handle.shutdown();
    assert!(handle.join().unwrap().faults.delayed >= 20);
}

fn pareto_jitter_never_goes_below_its_floor_stream<T: Kind>(site: &Site<T>) {
    check_pareto_floor(site, None);
}

fn pareto_jitter_never_goes_below_its_floor_datagram<T: Kind>(site: &Site<T>) {
    check_pareto_floor(site, Some(0));
}

over_stream_transports!(pareto_jitter_never_goes_below_its_floor_stream);
over_datagram_transports!(pareto_jitter_never_goes_below_its_floor_datagram);
