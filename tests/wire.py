#!/usr/bin/env python3
"""Count the IP bytes of the frames an interface sends, as a capture sees them.

usage: wire.py IFACE   (run inside the interface's namespace)

Prints "ready" once the capture is open; on SIGTERM it reads what is still
queued and prints "BYTES FRAMES DROPPED": the sum of the IP length fields of
the IPv4 and IPv6 frames sent, how many there were, and how many frames the
kernel could not queue to the capture (a count that is not exact unless 0).
"""
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
# Room for every frame of a short run, so that none is lost while this
# process is slower than the link.
RCVBUF = 256 << 20

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


def ip_length(frame):
    if len(frame) < 20:
        return None
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype == ETH_P_IP:
        return struct.unpack_from("!H", frame, 16)[0]
    if ethertype == ETH_P_IPV6:
        return 40 + struct.unpack_from("!H", frame, 18)[0]
    return None


def main():
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    sock.bind((sys.argv[1], 0))
    sock.settimeout(0.1)
    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    total = frames = 0
    while True:
        try:
            frame, addr = sock.recvfrom(64)
        except socket.timeout:
            if stopping:
                break
            continue
        if addr[2] != PACKET_OUTGOING:
            continue
        n = ip_length(frame)
        if n is not None:
            total += n
            frames += 1
    _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET,
                                                   PACKET_STATISTICS, 8))
    print(total, frames, drops, flush=True)


main()
