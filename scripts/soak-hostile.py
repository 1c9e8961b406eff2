"""Hostile clients for scripts/soak.sh: every few seconds, one round of misbehaviour against
kezekd's booking port and admin port (loopback only), until the given number of seconds
has passed. Prints one line per round with what it saw. Usage: soak-hostile.py PORT ADMIN SECONDS"""
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
port, admin, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds


def connect(p, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect((HOST, p))
    return s


def exchange(p, data, read=True):
    """Sends data, returns the first bytes answered (or the error)."""
    try:
        s = connect(p)
        s.sendall(data)
        answer = s.recv(200) if read else b""
        s.close()
        return answer[:40]
    except OSError as error:
        return repr(error)[:40]


def slowloris(p, text, spacing, count):
    try:
        s = connect(p)
        for byte in text[:count]:
            s.send(bytes([byte]))
            time.sleep(spacing)
        s.close()
    except OSError:
        pass


def never_reads(p):
    try:
        s = connect(p, rcvbuf=4096)
        s.setblocking(False)
        payload = b"SEATS p1\r\n" * 100_000
        sent = 0
        end = time.monotonic() + 5
        while sent < len(payload) and time.monotonic() < end:
            try:
                sent += s.send(payload[sent:])
            except BlockingIOError:
                time.sleep(0.05)
        time.sleep(2)
        s.close()
    except OSError:
        pass


rounds = 0
while time.monotonic() < deadline:
    rounds += 1
    seen = [
        exchange(port, b"PING " + b"x" * 5000 + b"\r\n"),            # over max-request-bytes
        exchange(port, b"*2\r\n$x\r\nBOOK\r\n"),                       # malformed RESP
        exchange(port, b"*99999999999999999999\r\n"),                  # absurd length
        exchange(port, b"AUTH guess\r\n" * 50),                        # AUTH guessing
        exchange(admin, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 13_000 + b"\r\n\r\n"),
        exchange(admin, b"GET /metrics HTTP/1.0\n\n"),
    ]
    workers = [
        threading.Thread(target=slowloris, args=(port, b"BOOK p1 slow-holder\r\n", 1.5, 8)),
        threading.Thread(target=slowloris, args=(admin, b"GET /healthz HTTP/1.1\r\n\r\n", 1.5, 8)),
        threading.Thread(target=never_reads, args=(port,)),
    ]
    for worker in workers:
        worker.start()
    flood = []
    for _ in range(200):  # more than admin-max-connections, held briefly
        try:
            flood.append(connect(admin))
        except OSError:
            break
    time.sleep(3)
    for s in flood:
        s.close()
    for worker in workers:
        worker.join()
    print(f"round {rounds}: {seen} admin-flood={len(flood)}", flush=True)
    time.sleep(2)
