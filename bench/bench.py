#!/usr/bin/env python3
"""ct's benchmark: how exactly the limit holds, and what it costs.

Run as root from the top of the tree (make bench). Every measurement of
traffic runs on two network namespaces joined by a veth pair, or by a path
of 20 ms RTT (two TUN devices and bench/delayline), that the benchmark
makes and removes itself; the limited iperf3 client lives in a cgroup of
its own. The scale section times ct's commands with 1,000 limited cgroups,
each holding one sleeping process.

  bench.py                    every section (about 21 minutes)
  bench.py --smoke            10mbit cells and costs only, short transfers,
                              ±10% (for make test)
  bench.py --only udp cost    these sections only (--help lists them)

The benchmark is a table of sections (SECTIONS, at the end), each one
function; main() runs those chosen, in the table's order. Prints one table
with the targets beside the figures and exits 1 when a target is missed.
"""

import argparse
import collections
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CT = os.environ.get("CT", os.path.join(TOP, "ct"))
RUN_DIR = "/run/ct"     # ct's registry (policy.h)
PROGCOST = os.path.join(TOP, "bench", "progcost")
DELAYLINE = os.path.join(TOP, "bench", "delayline")

# At MTU 1500 a full TCP segment (with timestamps) carries 1448 of its 1500
# IP bytes; ct counts IP bytes, iperf3 counts payload.
TCP_IP_PER_PAYLOAD = 1500 / 1448
TCP_MSS = 1448
UDP_LEN = 1400
UDP_IP_PER_PAYLOAD = (UDP_LEN + 28) / UDP_LEN

RATES = ["256kbit", "1mbit", "10mbit", "100mbit", "1gbit"]
PATH_RATES = ["256kbit", "1mbit", "10mbit", "100mbit"]
PEER_RATES = ["10mbit", "100mbit"]

# A TCP cell is one transfer of CELL_SECONDS from its start on (6 s in the
# smoke run); its steady figures are of seconds 3 to the end.
CELL_SECONDS = 12
STEADY = slice(2, None)

# The targets of a TCP cell besides its steady rate, and the limits at which
# each is judged (elsewhere reported).
FIRST_MAX, FIRST_RATES = 1.10, ("1mbit", "10mbit", "100mbit")
CV_MAX, CV_RATES = 0.03, ("10mbit", "100mbit")
# Downloads on the 20 ms path: the wire load and the share resent.
WIRE_MAX, RTX_MAX, WIRE_RATES = 1.05, 0.02, ("1mbit", "10mbit", "100mbit")
UNITS = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9}


def bits(rate):
    m = re.fullmatch(r"(\d+)(kbit|mbit|gbit)", rate)
    return int(m.group(1)) * UNITS[m.group(2)]


def run(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True,
                          capture_output=True, **kw)


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    sys.exit("bench: no cgroup2 mount")


class Spawned:
    """A child started by os.posix_spawn, killed and reaped as a Popen."""

    def __init__(self, pid):
        self.pid = pid

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self):
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


# The two paths between the namespaces: the veth pair, and two TUN devices
# joined by bench/delayline, DELAY_US each way. Per path: the client's and
# the server's address, and the device's name in both namespaces.
PATHS = {
    "veth": ("10.198.0.1", "10.198.0.2", "veth0"),
    "20ms": ("10.199.0.1", "10.199.0.2", "tun0"),
}
DELAY_US = 10_000


class Lab:
    """Two namespaces, A (client) and B (servers), joined by the paths in
    PATHS, and cgroups for clients.

    What a measurement sets up beyond processes and cgroups (a qdisc, a
    device, a route) it undoes by a command it adds to undo; release()
    runs those, newest first. ct's own state (its registry, pins) goes
    with ct cleanup at the end, unless it was there before the bench."""

    def __init__(self):
        tag = str(os.getpid())
        self.ct_state_before = os.path.exists(RUN_DIR)
        self.a, self.b = "ctbA" + tag, "ctbB" + tag
        self.tun_names = ("ctdA" + tag, "ctdB" + tag)
        self.cgroot = cgroup2_root()
        self.cgroups = []
        self.procs = []
        self.sleepers = []
        self.undo = []
        self.delayline = None
        self.anchors = {}
        for ns in (self.a, self.b):
            run("ip", "netns", "add", ns)
        run("ip", "-n", self.a, "link", "add", "veth0", "type", "veth",
            "peer", "name", "veth0", "netns", self.b)
        for ns, addr in ((self.a, PATHS["veth"][0]),
                         (self.b, PATHS["veth"][1])):
            # Each cell's connection starts afresh, not from the RTT and
            # window that TCP cached from the cell before it.
            run("ip", "netns", "exec", ns, "sh", "-c",
                "echo 1 >/proc/sys/net/ipv4/tcp_no_metrics_save")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "veth0")
            run("ip", "-n", ns, "link", "set", "veth0", "up")

    def addr(self, path):
        """The server's address on path."""
        return PATHS[path][1]

    def dev(self, path):
        return PATHS[path][2]

    def use(self, path):
        """Make path ready: the 20 ms one needs its delay line, started
        afresh after each release() so that no queue outlives a cell."""
        if path == "20ms" and self.delayline is None:
            self.start_delayline()

    def start_delayline(self):
        p = subprocess.Popen([DELAYLINE, *self.tun_names, str(DELAY_US)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        self.delayline = p
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("delayline did not start")
        client, server, dev = PATHS["20ms"]
        for ns, name, mine, peer in ((self.a, self.tun_names[0], client,
                                      server),
                                     (self.b, self.tun_names[1], server,
                                      client)):
            run("ip", "link", "set", name, "netns", ns)
            run("ip", "-n", ns, "link", "set", name, "name", dev)
            run("ip", "-n", ns, "addr", "add", mine, "peer", peer, "dev",
                dev)
            run("ip", "-n", ns, "link", "set", dev, "up")

    def stop_delayline(self):
        """SIGTERM: delayline closes its devices, which takes them away."""
        if self.delayline is None:
            return
        self.delayline.terminate()
        try:
            self.delayline.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.delayline.kill()
            self.delayline.wait()
        self.delayline.stdout.close()
        self.delayline = None

    def anchor(self, ns):
        """A process that lives in ns, whose /proc/PID/net shows that
        namespace's counters to the benchmark."""
        p = self.anchors.get(ns)
        if p is None:
            p = subprocess.Popen(["ip", "netns", "exec", ns, "sleep",
                                  "1000000"], stdin=subprocess.DEVNULL)
            self.anchors[ns] = p
            deadline = time.time() + 5
            while not in_netns(p.pid, ns):
                if p.poll() is not None or time.time() > deadline:
                    raise RuntimeError("no process in " + ns)
                time.sleep(0.01)
        return p.pid

    def retrans_segs(self, ns):
        """The namespace's count of TCP segments sent again."""
        with open("/proc/%d/net/snmp" % self.anchor(ns)) as f:
            rows = [line.split() for line in f if line.startswith("Tcp:")]
        return int(rows[1][rows[0].index("RetransSegs")])

    def cgroup(self, name, parent=None):
        path = os.path.join(parent or self.cgroot, "ctbench.%d.%s" %
                            (os.getpid(), name))
        os.mkdir(path)
        self.cgroups.append(path)
        return path

    def sleeper(self, cgroup):
        """A process to hold the limit of a cgroup before traffic starts."""
        p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && '
                              'exec sleep 3600', "sh", cgroup])
        self.sleepers.append(p)
        deadline = time.time() + 5
        while str(p.pid) not in open(cgroup + "/cgroup.procs").read():
            if time.time() > deadline:
                sys.exit("bench: sleeper did not join " + cgroup)
            time.sleep(0.01)
        return p.pid

    def sleepers_in(self, cgroups):
        """A sleeping process in each of many cgroups, quickly: spawned
        without a shell and moved by writing its pid to cgroup.procs."""
        sleep = shutil.which("sleep")
        null = os.open(os.devnull, os.O_RDWR)
        pids = []
        try:
            for cg in cgroups:
                pid = os.posix_spawn(sleep, ["sleep", "3600"], os.environ,
                                     file_actions=[(os.POSIX_SPAWN_DUP2,
                                                    null, fd)
                                                   for fd in (0, 1, 2)])
                self.sleepers.append(Spawned(pid))
                with open(cg + "/cgroup.procs", "w") as f:
                    f.write(str(pid))
                pids.append(pid)
        finally:
            os.close(null)
        return pids

    def server(self, port):
        p = subprocess.Popen(["ip", "netns", "exec", self.b, "iperf3", "-s", "-J",
                              "-p", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        # A client that comes before the server listens is refused.
        deadline = time.time() + 5
        while not listening(self.b, port):
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError("iperf3 server on port %d did not start"
                                   % port)
            time.sleep(0.05)
        return p

    def in_a(self, cgroup, argv):
        """Start argv in namespace A as a member of cgroup; release()
        kills it if it is still running."""
        p = subprocess.Popen(
            ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && '
             'exec ip netns exec "$@"', "sh", cgroup, self.a] + argv,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def client(self, cgroup, args, path="veth", prefix=()):
        """Start iperf3 in namespace A as a member of cgroup, to the
        server's address on path; prefix goes before iperf3 (trickle)."""
        self.use(path)
        return self.in_a(cgroup, list(prefix) + [
            "iperf3", "-c", self.addr(path), "--json"] + args)

    def release(self):
        """Stop the servers and processes and remove the cgroups made so
        far, and undo what they set up, so that no measurement runs beside
        the leftovers of another."""
        for cmd in reversed(self.undo):
            run(*cmd, check=False)
        self.undo = []
        self.stop_delayline()
        for p in self.procs + self.sleepers:
            p.kill()
            p.wait()
        for cg in reversed(self.cgroups):
            for _ in range(50):
                try:
                    os.rmdir(cg)
                    break
                except OSError:
                    time.sleep(0.1)
        self.procs, self.sleepers, self.cgroups = [], [], []

    def close(self):
        self.release()
        if not self.ct_state_before:
            run(CT, "cleanup", check=False)
        for p in self.anchors.values():
            p.kill()
            p.wait()
        for ns in (self.a, self.b):
            run("ip", "netns", "del", ns, check=False)


def ct(*args):
    r = run(CT, *args, check=False)
    if r.returncode != 0:
        raise RuntimeError("ct %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def ct_entry(cgroup_rel):
    for c in json.loads(ct("status", "--json"))["cgroups"]:
        if c["path"] == cgroup_rel:
            return c
    return None


class IperfError(RuntimeError):
    pass


def finish(proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise IperfError("iperf3 failed: " + (err or out)[-300:])
    res = json.loads(out)
    # Under trickle, iperf3 may fail and still exit 0.
    if "error" in res:
        raise IperfError("iperf3 failed: " + res["error"])
    return res


def receiver_seconds(result, reverse):
    """Per-second received bytes, as the receiving side counted them, of
    the whole seconds only (a server's last interval may be a sliver)."""
    if reverse:
        intervals = result["intervals"]
    else:
        intervals = result.get("server_output_json", {}).get("intervals", [])
    return [i["sum"]["bytes"] / i["sum"]["seconds"] for i in intervals
            if i["sum"]["seconds"] >= 0.5]


def stream_bytes(result, reverse, steady):
    """Each flow's received bytes over the steady seconds."""
    side = result if reverse else result.get("server_output_json", {})
    flows = collections.defaultdict(int)
    for i in side.get("intervals", [])[steady]:
        for n, st in enumerate(i["streams"]):
            flows[n] += st["bytes"]
    return [flows[n] for n in sorted(flows)]


def jain(xs):
    """Jain's fairness index: 1 when all shares are equal, 1/n when one
    flow has everything."""
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if any(xs) \
        else 0


def cv(xs):
    """Coefficient of variation (population standard deviation over the
    mean); none of fewer than 3 seconds, or of nothing."""
    if len(xs) < 3 or not statistics.mean(xs):
        return math.nan
    return statistics.pstdev(xs) / statistics.mean(xs)


def tcp_figures(res, reverse, rate, seconds):
    """One transfer's figures against its limit, all as IP rates: the
    steady rate and its per-second CV (seconds STEADY), the first second,
    the sender's retransmitted bytes over the bytes received, and the wire
    load: what crossed the link (received + retransmitted) over what the
    limit allows in the transfer's time."""
    limit = bits(rate)
    per_s = [b * 8 * TCP_IP_PER_PAYLOAD / limit
             for b in receiver_seconds(res, reverse)[:seconds]]
    steady = per_s[STEADY]
    got = res["end"]["sum_received"]
    retrans = res["end"]["sum_sent"].get("retransmits", 0)
    resent = retrans * TCP_MSS
    return {
        "ip": statistics.mean(steady),
        "first": per_s[0],
        "cv": cv(steady),
        "retrans": retrans,
        "rtx": resent / got["bytes"],
        "wire": (got["bytes"] + resent) * 8 * TCP_IP_PER_PAYLOAD /
                (limit * got["seconds"]),
        "jain": jain(stream_bytes(res, reverse, STEADY)),
    }


def cpu_seconds(cgroup):
    """CPU time of the processes of cgroup and below, so far: cpu.stat's
    usage_usec, user and system time, with whatever softirq work the
    kernel did while they ran."""
    with open(cgroup + "/cpu.stat") as f:
        for line in f:
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
    raise RuntimeError("no usage_usec in %s/cpu.stat" % cgroup)


# ---- the limiters a TCP cell can run under: each sets its limit up for a
# client in cgroup on path, adds to lab.undo what takes it away, and
# returns what goes before the client's command.

def limit_ct(lab, cg, rate, path, burst):
    pid = str(lab.sleeper(cg))
    ct("limit", pid, rate, *burst)
    lab.undo.append((CT, "unlimit", pid))
    return []


def htb(lab, ns, dev, rate):
    """One HTB class at rate, root qdisc of dev, everything in it."""
    run("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:",
        "htb", "default", "1")
    run("tc", "-n", ns, "class", "add", "dev", dev, "parent", "1:",
        "classid", "1:1", "htb", "rate", rate)


def limit_htb(lab, cg, rate, path, burst):
    """HTB on the sending side: the server's device's root qdisc."""
    lab.use(path)
    lab.undo.append(("tc", "-n", lab.b, "qdisc", "del", "dev", lab.dev(path),
                     "root"))
    htb(lab, lab.b, lab.dev(path), rate)
    return []


def limit_ifb(lab, cg, rate, path, burst):
    """IFB + HTB on the receiving side, as wondershaper does it: what the
    client's device receives is redirected (u32 matching all, mirred) to
    an ifb device whose root qdisc is HTB."""
    lab.use(path)
    dev = lab.dev(path)
    lab.undo.append(("ip", "-n", lab.a, "link", "del", IFB))
    # An ifb's own queue of 32 packets is a fifth of 100mbit x 20 ms; with
    # it HTB held bbr at 0.73 of its rate and cubic at 0.58. 1000, as a NIC.
    run("ip", "-n", lab.a, "link", "add", IFB, "txqueuelen", "1000", "type",
        "ifb")
    run("ip", "-n", lab.a, "link", "set", IFB, "up")
    htb(lab, lab.a, IFB, rate)
    lab.undo.append(("tc", "-n", lab.a, "qdisc", "del", "dev", dev,
                     "ingress"))
    run("tc", "-n", lab.a, "qdisc", "add", "dev", dev, "handle", "ffff:",
        "ingress")
    run("tc", "-n", lab.a, "filter", "add", "dev", dev, "parent", "ffff:",
        "protocol", "all", "u32", "match", "u32", "0", "0", "action",
        "mirred", "egress", "redirect", "dev", IFB)
    return []


def limit_trickle(lab, cg, rate, path, burst):
    """trickle standalone (-s), -d in its KB/s of 1024 bytes."""
    return ["trickle", "-s", "-d", "%d" % round(bits(rate) / 8 / 1024)]


IFB = "ctbifb"
TCP_LIMITERS = {"ct": limit_ct, "htb": limit_htb, "ifb": limit_ifb,
                "trickle": limit_trickle}


class Bench:
    def __init__(self, lab, seconds, omit, burst, cell_seconds):
        self.lab = lab
        self.seconds = seconds
        self.omit = omit
        self.cell_seconds = cell_seconds
        self.burst = ["--burst", burst] if burst else []
        self.port = 5400

    def next_port(self):
        self.port += 1
        self.lab.server(self.port)
        return self.port

    def tcp_cell(self, rate, direction, cc, flows=1, path="veth",
                 limiter="ct", burst=None):
        """One iperf3 transfer of cell_seconds, its start included (-O 0),
        by a client in a cgroup of its own, limited by limiter (ct with
        --burst burst, when given)."""
        lab = self.lab
        cg = lab.cgroup("%s-%s-%s-%s-%s-%d" % (limiter, rate, direction, cc,
                                               path, flows))
        depth = ["--burst", burst] if burst else self.burst
        prefix = TCP_LIMITERS[limiter](lab, cg, rate, path, depth)
        port = self.next_port()
        reverse = direction == "down"
        args = ["-p", str(port), "-t", str(self.cell_seconds), "-O", "0",
                "-i", "1", "-C", cc, "-P", str(flows),
                "--get-server-output"] + (["-R"] if reverse else [])
        cpu = cpu_seconds(cg)
        res = finish(lab.client(cg, args, path, prefix),
                     self.cell_seconds + 30)
        cpu = cpu_seconds(cg) - cpu
        entry = ct_entry(cg[len(lab.cgroot):]) if limiter == "ct" else None
        lab.release()
        c = tcp_figures(res, reverse, rate, self.cell_seconds)
        c["cpu"] = cpu
        d = entry["down" if reverse else "up"] if entry else {}
        c["burst"] = d.get("burst_bytes", 0)
        c["drops"] = d.get("dropped_packets", 0)
        return c

    def udp_cell(self, rate, direction):
        lab = self.lab
        cg = lab.cgroup("udp-%s-%s" % (rate, direction))
        pid = lab.sleeper(cg)
        ct("limit", str(pid), rate)
        port = self.next_port()
        reverse = direction == "down"
        args = ["-p", str(port), "-u", "-b", str(int(2 * bits(rate))), "-l",
                str(UDP_LEN), "-t", str(self.seconds), "-O",
                str(self.omit), "--get-server-output"]
        if reverse:
            args.append("-R")
        res = finish(lab.client(cg, args), self.seconds + 30)
        ct("unlimit", str(pid))
        lab.release()
        side = res if reverse else res["server_output_json"]
        got = side["end"]["sum_received"]
        return got["bytes"] * 8 / got["seconds"] * UDP_IP_PER_PAYLOAD / \
            bits(rate)

    def parallel(self, specs):
        """Run several limited clients at once: [(cgroup, rate or None)]."""
        runs = []
        for cg, rate in specs:
            if rate:
                ct("limit", str(self.lab.sleeper(cg)), rate)
        for cg, _ in specs:
            port = self.next_port()
            runs.append(self.lab.client(cg, [
                "-p", str(port), "-t", str(self.seconds), "-O",
                str(self.omit), "-R"]))
        return [finish(p, self.seconds + 30)["end"]["sum_received"]
                ["bits_per_second"] * TCP_IP_PER_PAYLOAD for p in runs]


NGINX_CONF = """
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}; proxy_temp_path {dir};
    fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{ listen {port}; root {dir}/www; }}
}}
"""
NGINX_PORT = 8080
RUN_FILE_BYTES = 12_000_000


def listening(ns, port):
    return bool(run("ip", "netns", "exec", ns, "ss", "-Hltn",
                    "sport = :%d" % port).stdout.strip())


def nginx(lab, tmp, size):
    """One nginx process in the server namespace, serving a file of size
    bytes as /file (written once in tmp); one process (no master), which
    lab.release() kills."""
    www = os.path.join(tmp, "www")
    if not os.path.isdir(www):
        os.mkdir(www)
        with open(os.path.join(www, "file"), "wb") as f:
            f.write(os.urandom(size))
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=tmp, port=NGINX_PORT))
    p = subprocess.Popen(["ip", "netns", "exec", lab.b, "nginx", "-c", conf],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    lab.procs.append(p)
    deadline = time.time() + 5
    while not listening(lab.b, NGINX_PORT):
        if p.poll() is not None or time.time() > deadline:
            with open(os.path.join(tmp, "error.log")) as f:
                raise RuntimeError("nginx did not start: " + f.read()[-300:])
        time.sleep(0.05)


def pids_below(cgroup):
    """The processes of cgroup and of every cgroup below it."""
    pids = []
    for cg, _, _ in os.walk(cgroup):
        try:
            pids += pids_of(cg)
        except FileNotFoundError:
            pass
    return pids


def stop_ct_run(proc, home):
    """End a ct run that is still running, as a user would: SIGTERM, which
    it passes on to its command, whose exit takes its limit and cgroup
    away. If that fails, or ct run has died, kill whatever is left in its
    cgroup; the next ct command then finds that cgroup empty and removes
    it with its limit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    if pids_below(home):
        deadline = time.time() + 5
        while pids_below(home) and time.time() < deadline:
            for pid in pids_below(home):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    if any(d.startswith("ct-") for d in os.listdir(home)):
        run(CT, "status", check=False)


def ct_run_curl(lab, rate, path="veth", name=None):
    """curl in the client namespace, started by ct run RATE, downloads the
    file from nginx over path: its bytes, curl's time_total, the limit's
    burst, and the CPU time of ct run and curl.

    ct run is started outside the namespace (ip netns exec remounts /sys,
    and ct needs the cgroup2 tree), from a cgroup of the bench's own, so
    that the cgroup it makes lies below that one."""
    home = lab.cgroup(name or "run-" + rate)
    lab.use(path)
    url = "http://%s:%d/file" % (lab.addr(path), NGINX_PORT)
    cpu = cpu_seconds(home)
    proc = subprocess.Popen(
        ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
         "sh", home, CT, "run", rate, "--", "ip", "netns", "exec", lab.a,
         "curl", "-sS", "--max-time", "120", "-o", "/dev/null", "-w",
         "%{size_download} %{time_total}", url],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # The limit's burst, from ct status while the transfer runs.
        burst, deadline = None, time.time() + 5
        while burst is None and proc.poll() is None and \
                time.time() < deadline:
            for c in json.loads(ct("status", "--json"))["cgroups"]:
                if c["path"].startswith(home[len(lab.cgroot):] + "/"):
                    burst = c["down"]["burst_bytes"]
            time.sleep(0.05)
        out, err = proc.communicate(timeout=150)
        if proc.returncode != 0:
            raise RuntimeError("ct run %s curl: exit %d: %s" % (
                rate, proc.returncode, (err or out).strip()[-300:]))
        left = [d for d in os.listdir(home) if d.startswith("ct-")]
        if left:
            raise RuntimeError("ct run %s left its cgroup: %s" % (
                rate, left))
    finally:
        stop_ct_run(proc, home)
    size, seconds = out.split()
    # What a removed cgroup used stays counted in its parent's cpu.stat.
    return int(size), float(seconds), burst, cpu_seconds(home) - cpu


def pids_of(cgroup):
    return open(cgroup + "/cgroup.procs").read().split()


def unlimit_all(cgroups):
    for cg in cgroups:
        for pid in pids_of(cg):
            run(CT, "unlimit", pid, check=False)


def prog_cost(lab):
    """ns per packet of each program, pass-through and limited paths."""
    cg = lab.cgroup("cost")
    pid = lab.sleeper(cg)
    out = {}
    # A dropped packet is marked and not charged again, so the dropping
    # path is timed one fresh packet at a time.
    for label, rate, segs, repeat in (
            ("pass", "1tbit", None, "2000000"),
            ("pass, GSO 44 segments", "1tbit", "44", "2000000"),
            ("limited (dropping)", "1kbit", None, "-20000")):
        ct("limit", str(pid), rate)
        pins = "/sys/fs/bpf/ct/%d" % ct_entry(cg[len(lab.cgroot):])["id"]
        for prog in ("ingress", "egress"):
            samples = []
            for _ in range(5):
                cmd = [PROGCOST, os.path.join(pins, prog), repeat]
                if segs:
                    cmd.append(segs)
                samples.append(int(run(*cmd).stdout.split()[0]))
            out[(label, prog)] = statistics.median(samples)
    ct("unlimit", str(pid))
    # The reference: the test run's own cost, with a program that only
    # passes the packet.
    out[("pass", "empty program")] = statistics.median(
        int(run(PROGCOST, "-", "2000000").stdout.split()[0])
        for _ in range(5))
    return out


def dev_counters(pid, dev, what):
    """Bytes and packets that dev, in pid's network namespace, has
    received ("rx") or sent ("tx")."""
    with open("/proc/%d/net/dev" % pid) as f:
        for line in f:
            name, _, counters = line.partition(":")
            if name.strip() == dev:
                c = [int(x) for x in counters.split()]
                return (c[0], c[1]) if what == "rx" else (c[8], c[9])
    raise RuntimeError("no %s in the namespace of %d" % (dev, pid))


def rx_bytes(pid):
    """What the veth of pid's network namespace has received."""
    return dev_counters(pid, "veth0", "rx")[0]


def in_netns(pid, ns):
    return os.stat("/proc/%d/ns/net" % pid).st_ino == \
        os.stat("/run/netns/" + ns).st_ino


def line_rate_ratio(lab, pairs, phase_s):
    """Unlimited throughput with ct's programs attached over without.

    One download runs throughout, in phases of phase_s with ct's programs
    attached to the client's cgroup or not; the receiving veth's counter
    gives each phase's bytes.  Separate transfers here differ by 10%
    from one to the next, far more than the programs cost; phases of one
    transfer a fraction of a second apart share its ups and downs.
    """
    cg = lab.cgroup("linerate")
    pid = str(lab.sleeper(cg))
    # At every change of phase ct limits one cgroup and unlimits another,
    # this one or an idle one, so that both kinds of phase follow the same
    # work.
    idle = str(lab.sleeper(lab.cgroup("linerate-idle")))
    lab.server(5390)
    # The receiver on one CPU, the sender on the other (which, veth being
    # what it is, also runs the receive softirq), rather than wherever the
    # scheduler puts them.
    pin = ["-A", "1,0"] if (os.cpu_count() or 1) >= 2 else []
    client = lab.client(cg, ["-p", "5390", "-t", "3600", "-R"] + pin)
    seen = {True: [0, 0.0], False: [0, 0.0]}   # bytes, seconds
    try:
        time.sleep(2)   # past the connection's start
        if client.poll() is not None or not in_netns(client.pid, lab.a):
            raise RuntimeError("iperf3 client did not start")
        ct("limit", idle, "1tbit")
        attached = False
        # Pairs of phases, each kind first in every other pair (off on, on
        # off, ...), so that a drift of the machine weighs on both alike.
        for i in range(2 * pairs):
            on = (i % 2 == 0) == (i // 2 % 2 == 1)
            if on != attached:
                ct("unlimit", idle if on else pid)
                ct("limit", pid if on else idle, "1tbit")
            attached = on
            t, b = time.perf_counter(), rx_bytes(client.pid)
            time.sleep(phase_s)
            seen[on][0] += rx_bytes(client.pid) - b
            seen[on][1] += time.perf_counter() - t
        ct("unlimit", pid if attached else idle)
    finally:
        client.kill()
        client.wait()
    with_ct = seen[True][0] * 8 / seen[True][1]
    without = seen[False][0] * 8 / seen[False][1]
    return with_ct / without, with_ct, without


BPFTOOL_PROG = r"""
#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
#define MAP(name) struct { int (*type)[BPF_MAP_TYPE_ARRAY]; \
    int (*max_entries)[1]; int *key; long long *value; } name SEC(".maps")
MAP(conf); MAP(down); MAP(up);
static void *(*lookup)(void *, const void *) = (void *)1;
static int count(void *m, int len)
{ int k = 0; long long *c = lookup(&conf, &k), *v = lookup(m, &k);
  if (c && v) *v += len + *c; return 1; }
SEC("cgroup_skb/ingress") int in(struct __sk_buff *s)
{ return count(&down, s->len); }
SEC("cgroup_skb/egress") int out(struct __sk_buff *s)
{ return count(&up, s->len); }
SEC("sockops") int ops(struct bpf_sock_ops *o)
{ return count(&down, o->op); }
char _license[] SEC("license") = "GPL";
"""


def cycle_times(lab, n):
    """Median wall time of ct limit + unlimit, and of the same work
    (load three programs and three maps, pin, attach, detach, unpin) by
    bpftool."""
    cg = lab.cgroup("cycle")
    pid = str(lab.sleeper(cg))
    tmp = tempfile.mkdtemp()
    obj = os.path.join(tmp, "p.o")
    src = os.path.join(tmp, "p.c")
    with open(src, "w") as f:
        f.write(BPFTOOL_PROG)
    run("clang", "-O2", "-g", "-target", "bpf", "-c", src, "-o", obj,
        "-I/usr/include/" + run("gcc", "-print-multiarch").stdout.strip())
    pin = "/sys/fs/bpf/ctbench%d" % os.getpid()
    script = ("set -e; bpftool prog loadall {o} {p}; "
              "bpftool cgroup attach {c} ingress pinned {p}/in multi; "
              "bpftool cgroup attach {c} egress pinned {p}/out multi; "
              "bpftool cgroup attach {c} sock_ops pinned {p}/ops multi; "
              "bpftool cgroup detach {c} ingress pinned {p}/in; "
              "bpftool cgroup detach {c} egress pinned {p}/out; "
              "bpftool cgroup detach {c} sock_ops pinned {p}/ops; "
              "rm -r {p}").format(o=obj, p=pin, c=cg)
    ct_t, tool_t = [], []
    # Alternating, each side first in every other pair.
    for i in range(n):
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            if side == 0:
                ct("limit", pid, "10mbit")
                ct("unlimit", pid)
                ct_t.append(time.perf_counter() - t)
                continue
            r = run("sh", "-c", script, check=False)
            tool_t.append(time.perf_counter() - t)
            if r.returncode != 0:
                shutil.rmtree(tmp)
                raise RuntimeError("bpftool script failed: " +
                                   r.stderr[-300:])
    shutil.rmtree(tmp)
    return statistics.median(ct_t), statistics.median(tool_t)


ROW = "%-46s %-8s %-12s %-6s %s"


class Report:
    def __init__(self):
        self.rows = []
        self.missed = 0

    def row(self, what, figure, target, ok, extra=""):
        if ok is False:
            self.missed += 1
        mark = {True: "ok", False: "MISSED", None: ""}[ok]
        self.rows.append((what, figure, target, mark, extra))
        print(ROW % self.rows[-1], flush=True)


def within(x, tol):
    return abs(x - 1) <= tol


# ---- the measurements: each one function of a Run, walked by main()


class Run:
    """What every measurement needs: the lab, the TCP cells' settings,
    the report, the command line, and whether this is the smoke run."""

    def __init__(self, args, lab, rep):
        self.args = args
        self.smoke = args.smoke
        self.tol = 0.10 if args.smoke else 0.03
        seconds, omit = (6, 2) if args.smoke else (10, 2)
        self.lab = lab
        self.rep = rep
        self.bench = Bench(lab, seconds, omit, args.burst,
                           6 if args.smoke else CELL_SECONDS)

    def rates(self, default):
        return self.args.rates or default


def judged(rate, direction, path, smoke):
    """Which of a ct cell's figures besides its rate are judged: the
    first second, the per-second CV (not in the smoke run: a short
    transfer on a shared machine), the wire load and share resent."""
    out = set()
    if rate in FIRST_RATES:
        out.add("first")
    if rate in CV_RATES and not smoke:
        out.add("cv")
    if path == "20ms" and direction == "down" and rate in WIRE_RATES:
        out.add("wire")
    return out


def tcp_rows(r, what, c, rate_ok, judge, down):
    """A cell's rows: the steady rate (or a whole transfer's, when c has
    "whole") against rate_ok, (lo, hi), or reported when rate_ok is None;
    then each figure in judge on its own row, the others in the first
    row's details."""
    rep = r.rep
    shown = [("first", "first -" if math.isnan(c["first"]) else
              "first %.2f" % c["first"]),
             ("cv", "cv -" if math.isnan(c["cv"]) else "cv %.3f" % c["cv"])]
    if down:
        shown += [("wire", "rtx %.1f%% wire %.2f" % (100 * c["rtx"],
                                                  c["wire"]))]
    # A CV of fewer than 3 seconds (a short curl download) is no figure.
    extra = [t for k, t in shown if k not in judge or math.isnan(c[k])]
    extra += ["drops %d" % c["drops"]] if c.get("drops") else []
    extra += ["cpu %.2f s" % c["cpu"]]
    extra += ["tries %d" % c["tries"]] if c.get("tries", 1) > 1 else []
    label = ": whole IP rate/limit" if "whole" in c else ": IP rate/limit"
    if rate_ok is None:
        rep.row(what + label, "%.3f" % c["ip"], "(reported)", None,
                " ".join(extra))
    else:
        lo, hi = rate_ok
        rep.row(what + label, "%.3f" % c["ip"], range_text(lo, hi),
                lo <= c["ip"] <= hi, " ".join(extra))
    # A transfer of about a second may have no whole second sampled.
    if "first" in judge and not math.isnan(c["first"]):
        rep.row("  first second/limit", "%.3f" % c["first"],
                "<= %.2f" % FIRST_MAX, c["first"] <= FIRST_MAX)
    if "cv" in judge and not math.isnan(c["cv"]):
        rep.row("  per-second CV from second 3", "%.3f" % c["cv"],
                "<= %.2f" % CV_MAX, c["cv"] <= CV_MAX)
    if "wire" in judge:
        rep.row("  retransmitted/received", "%.2f%%" % (100 * c["rtx"]),
                "<= %g%%" % (100 * RTX_MAX), c["rtx"] <= RTX_MAX)
        rep.row("  wire load", "%.3f" % c["wire"], "<= %.2f" % WIRE_MAX,
                c["wire"] <= WIRE_MAX)


def tolerance(r):
    return (1 - r.tol, 1 + r.tol)


def range_text(lo, hi):
    if abs((1 - lo) - (hi - 1)) < 1e-9:
        return "1 ± %g" % round(hi - 1, 6)
    return "%.2f .. %.2f" % (lo, hi)


def tcp_cells(r):
    rates = ["10mbit"] if r.smoke else r.rates(RATES)
    ccs = ["bbr"] if r.smoke else ["bbr", "cubic"]
    for rate in rates:
        for cc in ccs:
            for direction in ("down", "up"):
                c = r.bench.tcp_cell(rate, direction, cc)
                tcp_rows(r, "TCP %s %s %s" % (rate, direction, cc), c,
                         tolerance(r),
                         judged(rate, direction, "veth", r.smoke),
                         direction == "down")


def path_cells(r):
    """The TCP cells again on the 20 ms path."""
    for rate in r.rates(PATH_RATES):
        for cc in ("bbr", "cubic"):
            for direction in ("down", "up"):
                c = r.bench.tcp_cell(rate, direction, cc, path="20ms")
                tcp_rows(r, "TCP %s %s %s 20ms" % (rate, direction, cc), c,
                         tolerance(r), judged(rate, direction, "20ms", False),
                         direction == "down")


DEPTH_RATES = ["10mbit", "100mbit"]
DEPTH_SECONDS = [1, 0.25, 0.1]     # of the rate; 1 is ct's default


def depths(r):
    """Downloads on the veth with buckets of a second of the rate (ct's
    default) and shallower: what a policer's depth does to a rate that no
    window can hold at a 50 us round trip. Reported, not judged."""
    for rate in r.rates(DEPTH_RATES):
        for cc in ("bbr", "cubic"):
            for s in DEPTH_SECONDS:
                burst = "%dkb" % (bits(rate) / 8 * s / 1024)
                c = r.bench.tcp_cell(rate, "down", cc, burst=burst)
                r.rep.row("depth %s %s %g s: IP rate/limit" % (
                    rate, cc, s), "%.3f" % c["ip"], "(reported)", None,
                    "cv %.3f rtx %.1f%% wire %.2f first %.2f, burst %s" % (
                        c["cv"], 100 * c["rtx"], c["wire"], c["first"],
                        burst))


def four_flows(r):
    for direction in ("down", "up"):
        c = r.bench.tcp_cell("10mbit", direction, "cubic", flows=4)
        r.rep.row("4 flows 10mbit %s: IP rate/limit" % direction,
                  "%.3f" % c["ip"], "1 ± %g" % r.tol,
                  within(c["ip"], r.tol), "retrans %d, Jain %.3f" % (
                      c["retrans"], c["jain"]))


def two_cgroups(r):
    lab, tol = r.lab, r.tol
    cg5, cg20 = lab.cgroup("two-5"), lab.cgroup("two-20")
    r5, r20 = r.bench.parallel([(cg5, "5mbit"), (cg20, "20mbit")])
    unlimit_all([cg5, cg20])
    lab.release()
    r.rep.row("two cgroups: 5mbit one", "%.3f" % (r5 / 5e6),
              "1 ± %g" % tol, within(r5 / 5e6, tol))
    r.rep.row("two cgroups: 20mbit one", "%.3f" % (r20 / 20e6),
              "1 ± %g" % tol, within(r20 / 20e6, tol))


def nested(r):
    lab, tol = r.lab, r.tol
    parent = lab.cgroup("parent")
    child = lab.cgroup("child", parent)
    ct("limit", str(lab.sleeper(parent)), "20mbit")
    rc, rp = r.bench.parallel([(child, "5mbit"), (parent, None)])
    r.rep.row("nested: child at 5mbit", "%.3f" % (rc / 5e6),
              "1 ± %g" % tol, within(rc / 5e6, tol))
    r.rep.row("nested: parent at 20mbit (all)",
              "%.3f" % ((rc + rp) / 20e6), "1 ± %g" % tol,
              within((rc + rp) / 20e6, tol))
    unlimit_all([child, parent])
    lab.release()


def udp(r):
    for direction in ("down", "up"):
        x = r.bench.udp_cell("10mbit", direction)
        r.rep.row("UDP at 2x 10mbit %s: received/limit" % direction,
                  "%.3f" % x, "1 ± %g" % r.tol, within(x, r.tol))


RUN_RATES = ["8mbit", "40mbit"]
RUN_RANGE = (0.93, 1.10)    # a whole transfer's rate, its start included


def ct_run_rows(r):
    """ct run RATE -- curl of a 12 MB file from nginx, the rate of the
    whole transfer, first second and all."""
    tmp = tempfile.mkdtemp()
    try:
        nginx(r.lab, tmp, RUN_FILE_BYTES)
        for rate in RUN_RATES:
            size, seconds, burst, _ = ct_run_curl(r.lab, rate)
            if size != RUN_FILE_BYTES:
                raise RuntimeError("curl got %d bytes of %d" % (
                    size, RUN_FILE_BYTES))
            x = size * 8 / seconds / bits(rate)
            lo, hi = RUN_RANGE
            r.rep.row("ct run %s curl 12 MB: rate/limit" % rate,
                      "%.3f" % x, range_text(lo, hi), lo <= x <= hi,
                      "IP rate %.3f, %.2f s, burst %s B" % (
                          x * TCP_IP_PER_PAYLOAD, seconds, burst))
    finally:
        r.lab.release()
        shutil.rmtree(tmp)


class ReceivedSeconds:
    """The payload bytes that the client's connections to port have
    received (ss's bytes_received), per second from start() on, asked
    for by a thread about once a second; each second's rate is the bytes
    over the time between two answers. stop() leaves out the last answer,
    whose second the transfer may have ended in."""

    def __init__(self, lab, port):
        self.cmd = ["ss", "-N", lab.a, "-Htin", "state", "established",
                    "dport = :%d" % port]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.samples = []

    def read(self):
        out = run(*self.cmd, check=False).stdout
        got = re.findall(r"bytes_received:(\d+)", out)
        return time.monotonic(), sum(int(x) for x in got) if got else None

    def start(self):
        self.t0 = time.monotonic()
        self.samples.append((self.t0, 0))
        self.thread.start()

    def loop(self):
        k = 1
        while not self.stopping.wait(max(0, self.t0 + k - time.monotonic())):
            t, got = self.read()
            # Before the connection is up, nothing; after it, the end.
            if got is None and len(self.samples) > 1:
                break
            self.samples.append((t, got or 0))
            k += 1

    def stop(self):
        """Bytes per second, per second."""
        self.stopping.set()
        self.thread.join()
        s = self.samples[:-1]
        return [(b - a) / (tb - ta) for (ta, a), (tb, b) in zip(s, s[1:])]


def sender_cc(lab, path, cc):
    """The congestion control of what the server namespace sends over
    path (nginx's): a route to the client with congctl, which a child
    namespace may set where its default may only be an allowed one."""
    client = PATHS[path][0] + "/32"
    lab.undo.append(("ip", "-n", lab.b, "route", "del", client, "dev",
                     lab.dev(path)))
    run("ip", "-n", lab.b, "route", "replace", client, "dev", lab.dev(path),
        "congctl", "lock", cc)


def curl_limited(lab, rate, path, name):
    """curl --limit-rate (bytes/s) of the file, in an unlimited cgroup:
    bytes, time_total, CPU time."""
    cg = lab.cgroup(name)
    url = "http://%s:%d/file" % (lab.addr(path), NGINX_PORT)
    cpu = cpu_seconds(cg)
    p = lab.in_a(cg, ["curl", "-sS", "--max-time", "120", "--limit-rate",
                      "%d" % (bits(rate) / 8), "-o", "/dev/null", "-w",
                      "%{size_download} %{time_total}", url])
    out, err = p.communicate(timeout=150)
    if p.returncode != 0:
        raise RuntimeError("curl: exit %d: %s" % (p.returncode,
                                                  (err or out)[-300:]))
    size, seconds = out.split()
    return int(size), float(seconds), None, cpu_seconds(cg) - cpu


def curl_cell(lab, tmp, rate, cc, path, how):
    """A download of the 12 MB file from nginx, limited by curl's
    --limit-rate or by ct run. Figures as a TCP cell's, from other counts:
    the whole transfer's rate (file bytes over curl's time_total), the
    per-second ones from the connection's bytes_received, retransmissions
    from the server namespace's RetransSegs."""
    lab.use(path)
    sender_cc(lab, path, cc)
    nginx(lab, tmp, RUN_FILE_BYTES)
    name = "%s-%s-%s-%s" % (how, rate, cc, path)
    resent0 = lab.retrans_segs(lab.b)
    rx = ReceivedSeconds(lab, NGINX_PORT)
    rx.start()
    try:
        if how == "curl":
            size, seconds, _, cpu = curl_limited(lab, rate, path, name)
        else:
            size, seconds, _, cpu = ct_run_curl(lab, rate, path, name)
    finally:
        per_s = rx.stop()
    retrans = lab.retrans_segs(lab.b) - resent0
    lab.release()
    if size != RUN_FILE_BYTES:
        raise RuntimeError("curl got %d bytes of %d" % (size, RUN_FILE_BYTES))
    limit = bits(rate)
    per_s = [b * 8 * TCP_IP_PER_PAYLOAD / limit for b in per_s]
    steady = per_s[STEADY]
    resent = retrans * TCP_MSS
    return {
        "ip": size * 8 * TCP_IP_PER_PAYLOAD / seconds / limit,
        # A transfer over within its first second had all of it there.
        "first": per_s[0] if per_s else
        size * 8 * TCP_IP_PER_PAYLOAD / limit if seconds < 1 else math.nan,
        "cv": cv(steady),
        "retrans": retrans,
        "rtx": resent / size,
        "wire": (size + resent) * 8 * TCP_IP_PER_PAYLOAD / (limit * seconds),
        "cpu": cpu,
        "whole": True,
    }


# The peers' names in the table, in the order they run; --peers picks some.
PEERS = {
    "ct": "ct",
    "htb": "HTB",
    "ifb": "IFB+HTB",
    "trickle": "trickle",
    "curl": "curl",
    "ctrun": "ct run",
}


TRICKLE_TRIES = 3


def peer_tcp_cell(r, rate, cc, path, name):
    """trickle's select() fails now and then (EINVAL), which ends iperf3:
    its cell is tried up to TRICKLE_TRIES times, the tries in its details;
    None when every try failed."""
    for tries in range(1, TRICKLE_TRIES + 1):
        try:
            c = r.bench.tcp_cell(rate, "down", cc, path=path, limiter=name)
            c["tries"] = tries
            return c
        except IperfError:
            r.lab.release()
            if name != "trickle":
                raise
    return None


def peer_rows(r, rate, cc, path, tmp):
    """One limit: the iperf3 downloads under each limiter, then the curl
    downloads of the 12 MB file."""
    picked = r.args.peers or list(PEERS)
    for name in picked:
        what = "%s %s %s %s" % (PEERS[name], rate, cc, path)
        if name in TCP_LIMITERS:
            c = peer_tcp_cell(r, rate, cc, path, name)
            if c is None:
                r.rep.row(what + ": IP rate/limit", "failed", "(reported)",
                          None, "iperf3 failed %d times" % TRICKLE_TRIES)
                continue
        else:
            c = curl_cell(r.lab, tmp, rate, cc, path, name)
        if name == "ct":
            tcp_rows(r, what, c, tolerance(r),
                     judged(rate, "down", path, False), True)
        elif name == "ctrun":
            tcp_rows(r, what, c, RUN_RANGE,
                     judged(rate, "down", path, False), True)
        else:
            tcp_rows(r, what, c, None, set(), True)


def flow_rows(r, rate, path):
    """4 cubic downloads in one cgroup under one limit, by ct and by HTB:
    their aggregate, and Jain's index of the flows' shares."""
    for name in ("ct", "htb"):
        if r.args.peers and name not in r.args.peers:
            continue
        c = r.bench.tcp_cell(rate, "down", "cubic", flows=4, path=path,
                             limiter=name)
        ours = name == "ct"
        r.rep.row("%s 4 flows %s %s: IP rate/limit" % (
            PEERS[name], rate, path), "%.3f" % c["ip"],
            "1 ± %g" % r.tol if ours else "(reported)",
            within(c["ip"], r.tol) if ours else None,
            "Jain %.3f first %.2f rtx %.1f%%" % (
                c["jain"], c["first"], 100 * c["rtx"]))


def peers(r):
    tmp = tempfile.mkdtemp()
    try:
        for path in r.args.paths:
            for rate in r.rates(PEER_RATES):
                for cc in ("bbr", "cubic"):
                    peer_rows(r, rate, cc, path, tmp)
                flow_rows(r, rate, path)
    finally:
        r.lab.release()
        shutil.rmtree(tmp)


def costs(r):
    # Timings are targets of the full run only: a smoke run in a test
    # suite shares the machine with whatever else is running.
    cost = prog_cost(r.lab)
    r.lab.release()
    for (label, prog), ns in sorted(cost.items()):
        judged = label == "pass" and prog != "empty program" and not r.smoke
        r.rep.row("cost %s, %s" % (prog, label), "%d ns" % ns,
                  "<= 50 ns" if judged else "(reported)",
                  ns <= 50 if judged else None)


def throughput(r):
    ratio, w, wo = line_rate_ratio(r.lab, 150, 0.2)
    r.lab.release()
    r.rep.row("unlimited throughput, programs attached",
              "%.3f" % ratio, ">= 0.97", ratio >= 0.97,
              "%.1f vs %.1f Gbit/s" % (w / 1e9, wo / 1e9))


def cycle(r):
    t_ct, t_tool = cycle_times(r.lab, 30)
    r.rep.row("limit+unlimit time / bpftool script",
              "%.3f" % (t_ct / t_tool), "<= 0.5",
              t_ct / t_tool <= 0.5,
              "%.1f ms vs %.1f ms (medians of 30)" % (
                  t_ct * 1e3, t_tool * 1e3))


SCALE_N = 1000      # limited cgroups at the large end
SCALE_RUNS = 30     # timings per median
SCALE_SETUP_JOBS = 4


def ct_timed(*args):
    """Wall time of one ct command, as a caller sees it, and its output."""
    t = time.perf_counter()
    r = run(CT, *args, check=False)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError("ct %s: %s" % (" ".join(args), r.stderr.strip()))
    return dt, r.stdout


def command_times(pid, runs):
    """Wall times of: ct limit of a cgroup not limited, its ct unlimit, the
    two together, and ct limit of a limited one with another rate."""
    t = {"limit": [], "unlimit": [], "cycle": [], "change": []}
    for _ in range(runs):
        a = ct_timed("limit", pid, "10mbit")[0]
        b = ct_timed("unlimit", pid)[0]
        t["limit"].append(a)
        t["unlimit"].append(b)
        t["cycle"].append(a + b)
    ct("limit", pid, "10mbit")
    for i in range(runs):
        rate = ("20mbit", "10mbit")[i % 2]
        t["change"].append(ct_timed("limit", pid, rate)[0])
    ct("unlimit", pid)
    return t


def limit_all(pids, rate, jobs):
    """ct limit each pid, a few at a time (ct serialises what must be)."""
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for _ in pool.map(lambda p: ct("limit", p, rate), pids):
            pass


def ct_in_kernel():
    """ct's programs and maps that the kernel still has, by bpftool's
    word: programs named ct_ingress or ct_egress, maps named ct_*."""
    progs = json.loads(run("bpftool", "-j", "prog", "show").stdout)
    maps = json.loads(run("bpftool", "-j", "map", "show").stdout)
    return (sum(p.get("name") in ("ct_ingress", "ct_egress") for p in progs),
            sum(m.get("name", "").startswith("ct_") for m in maps))


def scale(r):
    """ct's commands with 1 and with SCALE_N other cgroups limited, ct
    status at SCALE_N, and ct cleanup of them all."""
    lab, rep, n = r.lab, r.rep, SCALE_N
    if json.loads(ct("status", "--json"))["cgroups"]:
        raise RuntimeError("scale: cgroups are limited already, and this "
                           "measurement ends with ct cleanup")
    # Beside each other at the top, as the other measurements' cgroups.
    cgroups = [lab.cgroup("scale-%d" % i) for i in range(n + 1)]
    try:
        t0 = time.perf_counter()
        probe, *others = [str(p) for p in lab.sleepers_in(cgroups)]
        t_spawn = time.perf_counter() - t0
        # With one cgroup limited besides the one measured, then n, then
        # one again after the cleanup: the machine drifts, and the small
        # figure is measured on both sides of the large one.
        ct("limit", others[0], "10mbit")
        at1 = command_times(probe, SCALE_RUNS)
        t0 = time.perf_counter()
        limit_all(others[1:], "10mbit", SCALE_SETUP_JOBS)
        t_setup = time.perf_counter() - t0
        rep.row("scale: setting up %d more limits" % (n - 1),
                "%.2f s" % t_setup, "(reported)", None,
                "%d at a time; %d sleepers in %.2f s" % (
                    SCALE_SETUP_JOBS, n + 1, t_spawn))
        at_n = command_times(probe, SCALE_RUNS)
        for args in (("status",), ("status", "--json")):
            times, outs = [], []
            for _ in range(SCALE_RUNS):
                dt, out = ct_timed(*args)
                times.append(dt)
                outs.append(out)
            t = statistics.median(times)
            rep.row("scale: ct %s, %d limited" % (" ".join(args), n),
                    "%.1f ms" % (t * 1e3), "<= 50 ms", t <= 0.05,
                    "median of %d" % SCALE_RUNS)
        try:
            entries = [len(json.loads(o)["cgroups"]) for o in outs]
            bad = ""
        except (ValueError, KeyError, TypeError) as e:
            entries, bad = [], "json.loads: %s" % e
        rep.row("scale: ct status --json, entries listed",
                "%d" % min(entries) if entries else "unparsed", "%d" % n,
                entries.count(n) == SCALE_RUNS, bad or "in each of %d" %
                SCALE_RUNS)
        t, _ = ct_timed("cleanup")
        rep.row("scale: ct cleanup of %d" % n, "%.0f ms" % (t * 1e3),
                "<= 1000 ms", t <= 1)
        # The kernel frees programs and maps once their last reference
        # has gone, not always at once.
        t0 = time.perf_counter()
        while True:
            progs, maps = ct_in_kernel()
            waited = time.perf_counter() - t0
            if not progs + maps or waited > 5:
                break
            time.sleep(0.1)
        left = ["%d programs" % progs] if progs else []
        left += ["%d maps" % maps] if maps else []
        left += [RUN_DIR] if os.path.exists(RUN_DIR) else []
        rep.row("scale: left after ct cleanup", ", ".join(left) or "none",
                "none", not left, "bpftool prog/map show after %.1f s, "
                "/run/ct" % waited)
        ct("limit", others[0], "10mbit")
        at1_after = command_times(probe, SCALE_RUNS)
        ct("unlimit", others[0])
        for key, what in (("limit", "ct limit of a new cgroup"),
                          ("unlimit", "ct unlimit"),
                          ("cycle", "ct limit + ct unlimit"),
                          ("change", "ct limit, rate change")):
            big = statistics.median(at_n[key])
            small = statistics.median(at1[key] + at1_after[key])
            rep.row("scale: %s, %d / 1" % (what, n), "%.2f" % (big / small),
                    "<= 2", big / small <= 2,
                    "%.1f ms vs %.1f ms (medians of %d and of %d: %.1f "
                    "before, %.1f after)" % (
                        big * 1e3, small * 1e3, SCALE_RUNS, 2 * SCALE_RUNS,
                        statistics.median(at1[key]) * 1e3,
                        statistics.median(at1_after[key]) * 1e3))
    finally:
        # Also after the measurement that follows the cleanup.
        run(CT, "cleanup", check=False)
        lab.release()


Section = collections.namedtuple("Section", "name run smoke about")

# In the order they run. smoke: part of the smoke run (--smoke).
SECTIONS = [
    Section("tcp", tcp_cells, True, "a TCP transfer for each limit, "
            "direction and congestion control (smoke: 10mbit bbr)"),
    Section("path", path_cells, False, "the TCP cells up to 100mbit on a "
            "path of 20 ms RTT"),
    Section("peers", peers, False, "downloads limited by ct and by HTB, "
            "IFB + HTB, trickle, curl --limit-rate; 4 flows by ct and HTB"),
    Section("depth", depths, False, "veth downloads at 10mbit and 100mbit "
            "with buckets of 1, 0.25 and 0.1 s of the rate"),
    Section("flows", four_flows, False, "4 flows under 10mbit"),
    Section("two", two_cgroups, False, "two limited cgroups at once"),
    Section("nested", nested, False, "a limited child in a limited parent"),
    Section("udp", udp, False, "UDP sent at twice the limit"),
    Section("run", ct_run_rows, False, "ct run RATE -- curl of a 12 MB "
            "file from nginx, whole transfer, 8mbit and 40mbit"),
    Section("cost", costs, True, "ns per packet of the programs "
            "(smoke: reported, not judged)"),
    Section("throughput", throughput, False, "unlimited throughput with "
            "ct's programs attached and without"),
    Section("cycle", cycle, False, "ct limit + ct unlimit against the "
            "same work done by bpftool"),
    Section("scale", scale, False, "ct's commands with 1 and %d limited "
            "cgroups, ct status and ct cleanup at %d" % (SCALE_N, SCALE_N)),
]


def parse_args():
    names = [s.name for s in SECTIONS]
    ap = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="sections, in the order they run:\n" + "\n".join(
            "  %-11s %s" % (s.name, s.about) for s in SECTIONS))
    ap.add_argument("--smoke", action="store_true",
                    help="the smoke run: its sections, short transfers, "
                    "±10%%, costs reported only")
    ap.add_argument("--only", metavar="SECTION", nargs="+", choices=names,
                    help="only these sections")
    ap.add_argument("--rates", metavar="RATE", nargs="+",
                    help="the TCP cells of these rates only")
    ap.add_argument("--burst", help="ct limit --burst for the TCP cells")
    ap.add_argument("--paths", metavar="PATH", nargs="+", choices=list(PATHS),
                    default=["20ms"], help="the paths of the peers section "
                    "(default: 20ms)")
    ap.add_argument("--peers", metavar="PEER", nargs="+", choices=list(PEERS),
                    help="the peers section for these limiters only: %s" %
                    ", ".join(PEERS))
    ap.add_argument("--tcp-only", metavar="RATE", nargs="+",
                    help="--only tcp --rates RATE...")
    ap.add_argument("--cost-only", action="store_true",
                    help="--only cost throughput cycle")
    ap.add_argument("--nested-only", action="store_true",
                    help="--only nested")
    args = ap.parse_args()
    only = set(args.only or [])
    if args.tcp_only:
        only.add("tcp")
        args.rates = args.tcp_only
    if args.cost_only:
        only |= {"cost", "throughput", "cycle"}
    if args.nested_only:
        only.add("nested")
    args.sections = [s for s in SECTIONS if s.name in only] if only else \
        [s for s in SECTIONS if s.smoke or not args.smoke]
    args.mode = "only " + ", ".join(s.name for s in args.sections) \
        if only else "smoke" if args.smoke else "full"
    if only and args.smoke:
        args.mode = "smoke, " + args.mode
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    lab = Lab()
    rep = Report()

    def stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        print("ct benchmark: %s, kernel %s, %d CPUs, %s" % (
            time.strftime("%Y-%m-%d"), os.uname().release, os.cpu_count(),
            args.mode))
        print(ROW % ("measurement", "figure",
                                             "target", "", "details"))
        r = Run(args, lab, rep)
        for section in args.sections:
            section.run(r)
            lab.release()
    finally:
        lab.close()
    print("%d targets missed" % rep.missed)
    return 1 if rep.missed else 0


if __name__ == "__main__":
    sys.exit(main())
