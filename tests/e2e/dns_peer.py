"""A small authoritative DNS server on loopback UDP for the e2e tests (the daemon's
--egress-dns): A records from a table the test changes, NODATA for other types of a known name,
NXDOMAIN for unknown names. It counts the questions it was asked, per (name, type)."""

import collections
import socket
import struct
import threading

from harness import LOOPBACK

TYPE_A = 1
CLASS_IN = 1


def _read_name(packet, offset):
    labels = []
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            return ".".join(labels).lower(), offset
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(packet[offset:offset + length].decode("ascii"))
        offset += length


class DnsServer:
    """records: {"name": ["127.0.0.1", ...]}; ttl: the answers' TTL in seconds."""

    def __init__(self, records=None, ttl=1):
        self.records = dict(records or {})
        self.ttl = ttl
        self.asked = collections.Counter()
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.2)
        self.address = "%s:%d" % (LOOPBACK, self.sock.getsockname()[1])
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set(self, name, addresses):
        with self.lock:
            self.records[name] = list(addresses)

    def count(self, name, qtype=TYPE_A):
        with self.lock:
            return self.asked[(name, qtype)]

    def stop(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self._stop:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer = self._answer(packet)
            except (ValueError, IndexError, struct.error):
                continue  # not a question we read: no answer, as a lost packet
            self.sock.sendto(answer, peer)

    def _answer(self, packet):
        ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
        if qdcount != 1 or flags & 0x8000:
            raise ValueError("not one question")
        name, end = _read_name(packet, 12)
        qtype, qclass = struct.unpack("!HH", packet[end:end + 4])
        question = packet[12:end + 4]
        with self.lock:
            self.asked[(name, qtype)] += 1
            addresses = self.records.get(name)
        answers = b""
        count = 0
        rcode = 0
        if addresses is None:
            rcode = 3  # NXDOMAIN
        elif qtype == TYPE_A and qclass == CLASS_IN:
            for address in addresses:
                # The question's name by pointer (offset 12), type A, class IN, TTL, 4 bytes.
                answers += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, self.ttl, 4)
                answers += socket.inet_aton(address)
                count += 1
        # Response, authoritative, recursion desired copied, recursion available.
        flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        return struct.pack("!HHHHHH", ident, flags, 1, count, 0, 0) + question + answers
