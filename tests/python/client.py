"""The tutorial's echo client: connect, send a greeting, print the answer.

Usage: python3 client.py [HOST:PORT | PORT] [MESSAGE]
(defaults localhost:9999 and "Hola, soy el cliente").
"""
import socket
import sys


def parse(argument, default_host="localhost", default_port=9999):
    if argument is None:
        return default_host, default_port
    host, _, port = argument.rpartition(":")
    return (host or default_host), int(port)


host, port = parse(sys.argv[1] if len(sys.argv) > 1 else None)
message = sys.argv[2] if len(sys.argv) > 2 else "Hola, soy el cliente"

client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect((host, port))
client_socket.sendall(message.encode())
data = client_socket.recv(1024)
print(f"Respuesta del servidor: {data.decode(errors='replace')}", flush=True)
client_socket.close()
