"""The tutorial's echo server: accept ONE connection, recv(1024), send it back, close.

Usage: python3 server.py [HOST:PORT | PORT]   (default localhost:9999)
It echoes at most 1024 bytes, as the tutorial does; the tests rely on that.
"""
import socket
import sys


def parse(argument, default_host="localhost", default_port=9999):
    if argument is None:
        return default_host, default_port
    host, _, port = argument.rpartition(":")
    return (host or default_host), int(port)


host, port = parse(sys.argv[1] if len(sys.argv) > 1 else None)
server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.bind((host, port))
server_socket.listen(1)
print("Esperando conexión...", flush=True)

conn, addr = server_socket.accept()
print(f"Conexión establecida desde: {addr}", flush=True)
data = conn.recv(1024)
print(f"Mensaje recibido: {data.decode(errors='replace')}", flush=True)
conn.sendall(data)
conn.close()
server_socket.close()
