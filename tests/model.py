#!/usr/bin/env python3
"""
Model-based lifecycle test of ct.

A seeded random walk over ct's commands and the accidents that happen around
them, on 8 cgroups and 16 sleeping processes: limits and rate changes,
--isolate, limits of a cgroup by its path (`--cgroup`), unlimits of live,
dead and never-limited processes and of cgroups, `ct run` of a long command
(in the background) and of a short one that leaves a daemon behind,
processes, daemons, commands and ct runs killed, cgroups dying under a limit,
cleanups, a registry or a pin deleted by hand, and ct killed part-way
through a command.  A model predicts what the registry and the kernel hold;
after every step `ct status --json`, bpftool, the pins and the cgroup files
are compared with it.

    model.py [--seed N] [--steps N] [--ct PATH] [--skip OP]... [--verbose]

The seed is printed first; `--seed N --steps M` replays a failure at step M,
and `--skip OP` leaves an operation out, to see whether a failure needs it.
Needs root, a cgroup2 mount, bpftool and clang.
"""

import argparse
import copy
import ctypes
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_DIR = "/run/ct"
REGISTRY = RUN_DIR + "/registry"
BPFFS = "/sys/fs/bpf"
PIN_ROOT = BPFFS + "/ct"
PIN_NAMES = {"ingress", "egress", "sockops", "conf", "bucket_down", "bucket_up"}
# A hook's attach type as bpftool shows it, and the pin of ct's program on it.
HOOK_OF = {"cgroup_inet_ingress": "ingress", "cgroup_inet_egress": "egress",
           "cgroup_sock_ops": "sockops"}
CT_PROG_OF = {"ingress": "ct_ingress", "egress": "ct_egress", "sockops": "ct_sockops"}
CT_MAPS = {"ct_conf", "ct_bucket"}
NCGROUPS = 8
CT_MAX_INNER = 8
# what a bucket holds after a pause (bucket.h): 50 ms of the rate, 8 KiB at least
START_NS, START_MIN = 50 * 10**6, 8 << 10
# where struct ct_conf keeps it per direction: after the rates and the inner list
START_AT = 48 + 8 + 16 * CT_MAX_INNER
NPROCS = 16
BURST_FLOOR = {"down": 32 << 10, "up": 80 << 10}
BURST_CEILING = 1 << 30

# name, multiplier, largest count: rates within ct's 1kbit..1tbit
RATE_UNITS = (("kbit", 10**3, 10**6), ("mbit", 10**6, 10**4), ("gbit", 10**9, 100),
              ("kibit", 2**10, 10**6), ("mbps", 8 * 10**6, 1000))
SIZE_UNITS = (("kb", 2**10, 2**20), ("mb", 2**20, 2**10), ("b", 1, 2**30))

# operation: weight
WEIGHTS = {
    "limit": 26, "limit-isolate": 8, "limit-dead": 2,
    "unlimit-limited": 10, "unlimit-free": 3, "unlimit-dead": 6,
    "kill-process": 8, "start-process": 8, "remove-cgroup": 2, "cleanup": 2,
    "delete-registry": 2, "delete-pin": 3, "kill-ct": 12,
    "limit-cgroup": 10, "unlimit-cgroup": 6, "cgroup-refused": 2,
    "run": 6, "run-short": 6, "kill-run": 3, "kill-run-process": 8,
}
# what ct run runs: a command that waits, and one that leaves a daemon
LONG_COMMAND = ["sleep", "1000000"]
SHORT_COMMAND = ["sh", "-c", "sleep 1000000 &"]
PR_SET_CHILD_SUBREAPER = 36


class Violation(Exception):
    """ct, the kernel and the model disagree."""


# ---------------------------------------------------------------- the system

def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-", 6)
            if fields[sep + 1] == "cgroup2":
                return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
    sys.exit("model.py: no cgroup2 filesystem in /proc/self/mountinfo")


def start_time(pid):
    """Field 22 of /proc/PID/stat, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def proc_stat(pid):
    """(state, ppid, comm) of a process, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = stat[stat.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), stat[stat.index("(") + 1:stat.rindex(")")]


def children_of(ppid):
    """pid -> (state, comm) of every child of ppid."""
    kids = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None and st[1] == ppid:
                kids[int(name)] = (st[0], st[2])
    return kids


def proc_cgroup(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def parent(rel):
    return rel.rsplit("/", 1)[0] or "/"


def listdir(path):
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, check=True).stdout
    return json.loads(out.strip() or b"[]")


def registry_pins():
    """cgroup id -> pin directory, as the registry file says."""
    try:
        with open(REGISTRY, "rb") as f:
            lines = f.read().split(b"\n")[1:]
    except FileNotFoundError:
        return {}
    pins, cid = {}, None
    for line in lines:
        words = line.split()
        if words[:1] == [b"cgroup"]:
            cid = int(words[1])
        elif words[:1] == [b"pins"]:
            pins[cid] = re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m[1], 16)]),
                               words[1]).decode()
    return pins


def registry_starts():
    """cgroup id -> {pid: start time}, as the registry file says."""
    try:
        with open(REGISTRY, "rb") as f:
            lines = f.read().split(b"\n")[1:]
    except FileNotFoundError:
        return {}
    starts, cid = {}, None
    for line in lines:
        words = line.split()
        if words[:1] == [b"cgroup"]:
            cid = int(words[1])
            starts[cid] = {}
        elif words[:1] == [b"pid"] and len(words) == 3:
            starts[cid][int(words[1])] = int(words[2])
    return starts


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------- the model

class Entry:
    """One registry entry, as ct must have written it."""

    def __init__(self, cid, path, origin, owner="pids"):
        self.id, self.path, self.origin = cid, path, origin
        # whose the limit is: "pids" (it goes with the last limited
        # process), "cgroup" (limit --cgroup: until unlimit --cgroup or the
        # cgroup's removal), "run" (it goes once ct run's cgroup is empty)
        self.owner = owner
        self.limits = {"down": (0, 0), "up": (0, 0)}
        self.pids = []

    def view(self):
        return {"path": self.path, "isolated": self.origin is not None,
                "owner": self.owner,
                "down": self.limits["down"], "up": self.limits["up"],
                "pids": sorted(self.pids)}


class Model:
    def __init__(self):
        self.entries = {}       # cgroup id -> Entry, in registry order
        self.cgroup_of = {}     # live pid -> its cgroup, relative to the mount
        # cgroups where the kernel may hold what no entry accounts for, or
        # an entry may stand for programs no longer attached: the registry
        # or a pin was deleted by hand, or ct was killed.  `ct cleanup`
        # must still find all of it.
        self.excused = set()

    def copy(self):
        return copy.deepcopy(self)

    def registry(self):
        return {cid: e.view() for cid, e in self.entries.items()}


def status_view(doc):
    view = {}
    for c in doc["cgroups"]:
        if c["id"] in view:
            raise Violation(f"ct status lists cgroup id {c['id']} twice")
        view[c["id"]] = {
            "path": c["path"], "isolated": c["isolated"], "owner": c["owner"],
            "down": (c["down"]["rate_bits"], c["down"]["burst_bytes"]),
            "up": (c["up"]["rate_bits"], c["up"]["burst_bytes"]),
            "pids": sorted((p["pid"], p["start_time"]) for p in c["pids"])}
    return view


def describe_diff(want, got):
    lines = []
    for cid in sorted(set(want) | set(got)):
        if want.get(cid) != got.get(cid):
            lines.append(f"  cgroup {cid}: model {want.get(cid)}\n"
                         f"  {' ' * len(str(cid))}         ct    {got.get(cid)}")
    return "\n".join(lines)


class LimitArgs:
    """Random arguments of `ct limit`, and what they do to an entry."""

    def __init__(self, rng, isolate):
        self.rng = rng
        self.rates = {}
        self.burst = None
        form = rng.choice(("both", "both", "down", "up", "split"))
        self.options, self.rate_word = [], []
        if form == "both":
            text, bits = self.rate()
            self.rates = {"down": bits, "up": bits}
            self.rate_word = [text]
        for d in ("down", "up"):
            if form in (d, "split"):
                text, self.rates[d] = self.rate()
                self.options.append([f"--{d}", text])
        if rng.random() < 0.25:
            name, mult, most = rng.choice(SIZE_UNITS)
            n = self.count(most)
            self.burst = n * mult
            self.options.append(["--burst", f"{n}{name}"])
        if isolate:
            self.options.append(["--isolate"])

    def count(self, most):
        return max(1, int(10 ** self.rng.uniform(0, math.log10(most))))

    def rate(self):
        name, mult, most = self.rng.choice(RATE_UNITS)
        n = self.count(most)
        return f"{n}{name}", n * mult

    def argv(self, pid):
        """Options anywhere, the pid before the rate."""
        groups = [[str(pid)], self.rate_word, *self.options]
        positional = groups[:2]
        order = sorted(range(len(groups)), key=lambda _: self.rng.random())
        out = []
        for i in order:
            out += positional.pop(0) if i < 2 else groups[i]
        return ["limit", *out]

    def argv_cgroup(self, path):
        """--cgroup PATH, as one word or two, among the options; the rate the
        only operand."""
        groups = [self.rng.choice(([f"--cgroup={path}"], ["--cgroup", path])),
                  self.rate_word, *self.options]
        self.rng.shuffle(groups)
        return ["limit", *[w for g in groups for w in g]]

    def argv_run(self, command):
        """ct run's options before its rate and the command."""
        options = [w for g in self.options for w in g]
        return ["run", *options, *self.rate_word,
                *(["--"] if self.rng.random() < 0.8 else []), *command]

    def apply(self, entry):
        for d, bits in self.rates.items():
            burst = self.burst or min(max(bits // 8, BURST_FLOOR[d]), BURST_CEILING)
            entry.limits[d] = (bits, burst)


class Proc:
    """A process of the test's: a sleep it started (popen), or one that a
    ct run started, a command or the daemon a command left (no popen: the
    child of ct run, or of the test once ct run or the command has gone)."""

    def __init__(self, pid, start, popen=None):
        self.popen, self.pid, self.start = popen, pid, start
        self.alive = True


class Run:
    """A `ct run` of a command that waits, started in the background."""

    def __init__(self, popen, argv, slot, out, err):
        self.popen, self.argv, self.slot, self.out, self.err = popen, argv, slot, out, err
        self.start = start_time(popen.pid)  # ct run's own
        self.cmd = None         # the Proc of its command, once it runs


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.killed = rc == -signal.SIGKILL

    def __str__(self):
        return (f"ct {' '.join(self.argv)} -> exit {self.rc}\n"
                f"  stdout: {self.out.decode(errors='replace').strip()}\n"
                f"  stderr: {self.err.decode(errors='replace').strip()}")


# ---------------------------------------------------------------- the test

class ModelTest:
    def __init__(self, seed, steps, ct, verbose, skip=()):
        self.rng = random.Random(seed)
        self.seed, self.steps, self.ct_path, self.verbose = seed, steps, ct, verbose
        self.cg2 = cgroup2_mount()
        self.prefix = f"ctmodel.{os.getpid()}"
        self.slots = [f"/{self.prefix}.{n}" for n in range(NCGROUPS)]
        self.procs = {}
        self.model = Model()
        self.step = 0
        self.invocations = 0
        self.kills = {"mid-run": 0, "too late": 0}
        # ct run killed before it let its command start, and while it waited
        self.run_kills = {"before its cgroup": 0, "before the command": 0, "while waiting": 0}
        # limits of ct runs gone with their emptied cgroup, by who removed them
        self.reaped = {"ct run": 0, "the next command": 0, "ct status": 0}
        self.ops = {op: 0 for op in WEIGHTS if op not in skip}
        self.history = []
        self.tmp = tempfile.mkdtemp(prefix="ctmodel.")
        self.foreign_pin = f"{BPFFS}/ctmodel_foreign_{os.getpid()}"
        self.foreign_id = None
        self.pending = None     # what a killed ct may have left, until the next status
        self.limited_ok = set()  # cgroup ids on which a `ct limit` has exited 0
        self.unpin_expected = set()  # entries whose cgroup went: the next ct unpins them
        self.runs = []          # ct runs waiting for their command
        # limits of ct runs whose cgroup has emptied: the next ct removes
        # them, with their cgroup
        self.reaping = []
        # No conf_unsure: a ct killed midway leaves /run/ct/unsettled, and
        # the next ct (the status of the check) writes every conf map again
        # from the registry; a killed cleanup, which leaves no such file,
        # excuses every entry it may have touched.

    # ---- helpers

    def abs(self, rel):
        return self.cg2 if rel == "/" else self.cg2 + rel

    def cgroup_id(self, rel):
        try:
            return os.stat(self.abs(rel)).st_ino
        except FileNotFoundError:
            return None

    def is_ours(self, rel):
        try:
            return os.getxattr(self.abs(rel), "trusted.ct") == b"isolate"
        except OSError:
            return False

    def tree(self):
        """Every cgroup under the test's own, relative paths, parents first."""
        found = []
        for slot in self.slots:
            top = self.abs(slot)
            for dirpath, _, _ in os.walk(top):
                found.append(slot + dirpath[len(top):])
        return found

    def marked(self):
        return {rel for rel in self.tree() if self.is_ours(rel)}

    def say(self, text):
        self.history.append(f"step {self.step}: {text}")
        del self.history[:-20]
        if self.verbose:
            print(f"# step {self.step}: {text}", flush=True)

    def ct(self, *argv, kill_after=None):
        self.invocations += 1
        argv = [str(a) for a in argv]
        p = subprocess.Popen([self.ct_path, *argv], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kill_after is not None:
            time.sleep(kill_after)
            p.kill()
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Violation(f"ct {' '.join(argv)} did not finish within 30 s")
        return Result(argv, p.returncode, out, err)

    def expect_rc(self, res, rc):
        if res.rc != rc:
            raise Violation(f"expected exit {rc}:\n{res}")
        lines = res.err.decode(errors="replace").splitlines()
        bad = [line for line in lines if not line.startswith("ct: ")]
        if bad:
            raise Violation(f"stderr lines not starting 'ct: ':\n{res}")
        if rc != 0 and not lines:
            raise Violation(f"failed without saying why:\n{res}")

    def attachments(self, rel):
        try:
            return bpftool("cgroup", "show", self.abs(rel))
        except subprocess.CalledProcessError:
            if os.path.isdir(self.abs(rel)):
                raise
            return []

    def ct_attachments(self, rel):
        return [a for a in self.attachments(rel) if a["name"] in CT_PROG_OF.values()]

    def spawn(self, slot):
        procs = self.abs(slot) + "/cgroup.procs"

        def join():
            with open(procs, "w") as f:
                f.write("0")

        p = subprocess.Popen(["sleep", "1000000"], preexec_fn=join, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc = Proc(p.pid, start_time(p.pid), p)
        self.procs[p.pid] = proc
        self.model.cgroup_of[p.pid] = slot
        return proc

    def kill(self, proc):
        if proc.popen is not None:
            proc.popen.kill()
            proc.popen.wait()
        else:
            if start_time(proc.pid) == proc.start:
                os.kill(proc.pid, signal.SIGKILL)
            self.wait_gone(proc)
        proc.alive = False
        self.model.cgroup_of.pop(proc.pid, None)

    def wait_gone(self, proc):
        """Until a process that is not the test's own child has gone: reaped
        by the test when it is the test's (a subreaper), else by its parent."""
        for _ in range(1000):
            st = proc_stat(proc.pid)
            if st is None or start_time(proc.pid) != proc.start:
                return
            if st[1] == os.getpid():
                os.waitpid(proc.pid, 0)
                return
            time.sleep(0.01)
        raise Violation(f"process {proc.pid} outlived SIGKILL by 10 s")

    def tracked(self):
        """The pids of the test's children that it knows of."""
        return ({p.pid for p in self.procs.values() if p.alive}
                | {r.popen.pid for r in self.runs})

    def settle_orphans(self):
        """What a ct run killed or done has left to the test, the subreaper:
        reap what exited, wait for what is still becoming its command (ct's
        child before exec, the shell of a short command), and return the
        pids of the sleeps that run on, not yet known to the test."""
        for _ in range(2000):
            busy, found = False, []
            for pid, (state, comm) in children_of(os.getpid()).items():
                if pid in self.tracked():
                    continue
                if state == "Z":
                    os.waitpid(pid, 0)
                    busy = True     # what it left may have come to the test
                elif comm == "sleep":
                    found.append(pid)
                else:
                    busy = True
            if not busy:
                return sorted(found)
            time.sleep(0.005)
        raise Violation(f"children of the test still starting after 10 s: "
                        f"{children_of(os.getpid())}")

    def alive(self):
        return [p for p in self.procs.values() if p.alive]

    def limitable(self, isolate):
        """Processes `ct limit [--isolate]` may take.  Not, with --isolate,
        one in a cgroup of ct's made for another pid (a daemon a ct run's
        command left), which would nest a cgroup of ct's in one that ct
        removes once it is empty."""
        def ok(p):
            name = self.model.cgroup_of[p.pid].rsplit("/", 1)[1]
            return not (isolate and name.startswith("ct-") and name != f"ct-{p.pid}")
        return [p for p in self.alive() if ok(p)]

    def dead(self):
        return [p for p in self.procs.values() if not p.alive and start_time(p.pid) is None]

    def limited_pids(self):
        return sorted({pid for e in self.model.entries.values() for pid, _ in e.pids})

    # ---- model transitions, as ct's commands are specified

    def undo_entry(self, m, e, torn, ours):
        """Undo an entry: its programs go; an isolated process goes home."""
        del m.entries[e.id]
        torn.append(e)
        if e.origin is not None and e.path in ours:
            home = e.origin if os.path.isdir(self.abs(e.origin)) else "/"
            for pid, cg in m.cgroup_of.items():
                if cg == e.path:
                    m.cgroup_of[pid] = home

    def reconcile(self, m):
        """Entries whose cgroup is gone are dropped by any ct."""
        for e in list(m.entries.values()):
            if self.cgroup_id(e.path) != e.id:
                del m.entries[e.id]
                m.excused.discard(e.id)
        return m

    def reap(self, m, torn=None):
        """Any ct removes the limit of a ct run whose cgroup no process of the
        model's is in any more (cgroup.events: populated 0), with the cgroup."""
        for e in list(m.entries.values()):
            if e.owner == "run" and not any(
                    cg == e.path or cg.startswith(e.path + "/") for cg in m.cgroup_of.values()):
                self.undo_entry(m, e, torn if torn is not None else [], set())
                m.excused.discard(e.id)
        return m

    def reap_now(self):
        """The model after something left a ct run's cgroup empty: the
        limits that the next ct must remove."""
        torn = []
        self.reap(self.model, torn)
        self.reaping += torn
        return torn

    def isolation_plan(self, pid, isolate, ours):
        """(target cgroup, origin) of `ct limit [--isolate] pid`."""
        rel = self.model.cgroup_of[pid]
        if not isolate:
            return rel, None
        name = f"ct-{pid}"
        if rel.rsplit("/", 1)[1] == name and rel in ours:
            return rel, parent(rel)
        return ("" if rel == "/" else rel) + "/" + name, rel

    def predict_limit(self, pid, args, target, origin, target_id, ours):
        """(registered, final, torn): the model once a new entry is written
        down with its process, before the kernel holds anything (None for an
        existing entry), and after success."""
        m = self.model.copy()
        start = self.procs[pid].start
        torn = []
        e = m.entries.get(target_id)
        registered = None
        if e is None:
            e = m.entries[target_id] = Entry(target_id, target, origin)
            args.apply(e)
            e.pids.append((pid, start))
            registered = m.copy()
        else:
            args.apply(e)
        m.cgroup_of[pid] = target
        if (pid, start) not in e.pids:
            e.pids.append((pid, start))
        for other in list(m.entries.values()):
            if other.id != target_id and (pid, start) in other.pids:
                other.pids.remove((pid, start))
                if not other.pids and other.owner == "pids":
                    self.undo_entry(m, other, torn, ours)
                    break
        m.excused.discard(target_id)
        m.excused.difference_update(t.id for t in torn)
        return registered, m, torn

    def predict_unlimit(self, pid, ours):
        """The living process's limit if it has one, else every dead process's
        of that pid; an entry whose last process goes is torn down."""
        m = self.model.copy()
        live = start_time(pid)
        torn = []
        live_entry = live is not None and any((pid, live) in e.pids for e in m.entries.values())
        for e in list(m.entries.values()):
            keep = [(p, s) for p, s in e.pids if p != pid or (live_entry and s != live)]
            if len(keep) == len(e.pids):
                continue
            if keep or e.owner == "cgroup":
                e.pids = keep
            else:
                self.undo_entry(m, e, torn, ours)
        m.excused.difference_update(t.id for t in torn)
        return m, torn

    def predict_limit_cgroup(self, rel, args):
        """(registered, final) of `ct limit --cgroup rel`: an existing entry
        takes the rates and becomes the cgroup's own; a new one has no pids."""
        m = self.model.copy()
        cid = self.cgroup_id(rel)
        e = m.entries.get(cid)
        registered = None
        if e is None:
            e = m.entries[cid] = Entry(cid, rel, None, "cgroup")
            args.apply(e)
            registered = m.copy()
        else:
            args.apply(e)
            e.owner = "cgroup"
        m.excused.discard(cid)
        return registered, m

    def predict_unlimit_cgroup(self, rel, ours):
        """`ct unlimit --cgroup rel` tears down whatever entry the cgroup has."""
        m = self.model.copy()
        torn = []
        e = m.entries.get(self.cgroup_id(rel))
        if e is not None:
            self.undo_entry(m, e, torn, ours)
            m.excused.discard(e.id)
        return m, torn

    def predict_cleanup(self, ours):
        m = self.model.copy()
        torn = []
        for e in list(m.entries.values()):
            self.undo_entry(m, e, torn, ours)
        for pid, cg in m.cgroup_of.items():
            while cg in ours:
                cg = parent(cg)
            m.cgroup_of[pid] = cg
        m.excused.clear()
        return m, torn

    # ---- what must hold after one command

    def expect_pair(self, rel, what):
        cid = self.cgroup_id(rel)
        seen = sorted((a["name"], HOOK_OF.get(a["attach_type"]), a["attach_flags"])
                      for a in self.ct_attachments(rel))
        want = [("ct_egress", "egress", "multi"), ("ct_ingress", "ingress", "multi"),
                ("ct_sockops", "sockops", "multi")]
        if seen != want:
            raise Violation(f"after {what}: expected one ct_ingress, one ct_egress and one "
                            f"ct_sockops (multi) on {rel} (id {cid}), bpftool shows {seen}")

    def expect_conf(self, e, what, m=None):
        """The kernel enforces what the registry says: the entry's conf map holds
        its rates, and the limited cgroups below it, whose traffic goes first."""
        dump = bpftool("map", "dump", "pinned", f"{PIN_ROOT}/{e.id}/conf")
        words = bytes(int(b, 16) for b in dump[0]["value"])

        def u(offset, size=8):
            return int.from_bytes(words[offset:offset + size], sys.byteorder)

        got = [u(i) for i in range(0, 48, 8)]
        inner = {u(56 + 16 * k): u(64 + 16 * k, 4) for k in range(min(u(48, 4), CT_MAX_INNER))}
        below = {o.id: o.path.count("/") for o in (m or self.model).entries.values()
                 if o.path.startswith(e.path.rstrip("/") + "/")}
        if len(below) <= CT_MAX_INNER and any(inner.get(i) != lv for i, lv in below.items()) \
                or len(below) > CT_MAX_INNER and len(inner) < CT_MAX_INNER:
            raise Violation(f"after {what}: the conf map of {e.path} names the limited cgroups "
                            f"{inner} (id: level) below it; the registry has {below}")
        for n, d in enumerate(("down", "up")):
            bits, burst = e.limits[d]
            rate_fp, burst_fp, _ = got[3 * n:3 * n + 3]
            exact = bits * 2**29 / 10**9
            if bits == 0 and (rate_fp or burst_fp) or bits and (
                    abs(rate_fp - exact) > 1 or burst_fp != burst << 32):
                raise Violation(f"after {what}: the conf map of {e.path} holds {d} rate "
                                f"{rate_fp / 2**29 * 10**9:.0f} bit/s, burst {burst_fp >> 32} "
                                f"bytes; the registry says {bits} bit/s, {burst} bytes")
            start = min(max(rate_fp * START_NS, START_MIN << 32), burst_fp)
            if u(START_AT + 8 * n) != start:
                raise Violation(f"after {what}: the conf map of {e.path} holds a {d} bucket of "
                                f"{u(START_AT + 8 * n) / 2**32:.0f} bytes after a pause; "
                                f"expected {start / 2**32:.0f}")

    def expect_nothing_on(self, e, what):
        if self.cgroup_id(e.path) == e.id and self.ct_attachments(e.path):
            raise Violation(f"after {what}: ct programs still attached to {e.path}: "
                            f"{self.ct_attachments(e.path)}")
        if os.path.exists(f"{PIN_ROOT}/{e.id}"):
            raise Violation(f"after {what}: {PIN_ROOT}/{e.id} still exists: "
                            f"{listdir(f'{PIN_ROOT}/{e.id}')}")
        if e.origin is not None and self.cgroup_id(e.path) == e.id:
            raise Violation(f"after {what}: ct's cgroup {e.path} still exists")

    def loaded_ct(self):
        progs = [p for p in bpftool("-f", "prog", "show")
                 if p.get("name") in CT_PROG_OF.values()]
        maps = [m for m in bpftool("-f", "map", "show") if m.get("name") in CT_MAPS]
        return progs, maps

    def nothing_of_ct_anywhere(self):
        problems = []
        for rel in self.tree():
            if self.ct_attachments(rel):
                problems.append(f"ct programs attached to {rel}")
        progs, maps = self.loaded_ct()
        if progs or maps:
            problems.append(f"loaded: programs {[p['id'] for p in progs]}, "
                            f"maps {[m['id'] for m in maps]}")
        if os.path.exists(RUN_DIR):
            problems.append(f"{RUN_DIR} exists: {os.listdir(RUN_DIR)}")
        if os.path.isdir(PIN_ROOT) and os.listdir(PIN_ROOT):
            problems.append(f"{PIN_ROOT} holds {os.listdir(PIN_ROOT)}")
        leftover = [rel for rel in self.tree() if rel.rsplit("/", 1)[1].startswith("ct-")]
        if leftover:
            problems.append(f"ct's cgroups left: {leftover}")
        return problems

    def expect_clean_slate(self, what):
        for _ in range(30):
            problems = self.nothing_of_ct_anywhere()
            if not problems:
                return
            time.sleep(0.1)     # the kernel frees programs after an RCU grace period
        raise Violation(f"after {what}: " + "; ".join(problems))

    # ---- the operations

    def op_limit(self, isolate=False, kill_after=None, proc=None):
        proc = proc or self.rng.choice(self.limitable(isolate))
        args = LimitArgs(self.rng, isolate)
        ours = self.marked()
        target, origin = self.isolation_plan(proc.pid, isolate, ours)
        old_id = self.cgroup_id(target)
        in_place = (old_id in self.model.entries and old_id not in self.model.excused)
        ids_before = sorted(a["id"] for a in self.ct_attachments(target)) if in_place else None
        res = self.ct(*args.argv(proc.pid), kill_after=kill_after)
        target_id = self.cgroup_id(target)
        if res.killed:
            cands = [self.model.copy()]
            torn = []
            if target_id is not None:
                registered, final, torn = self.predict_limit(
                    proc.pid, args, target, origin, target_id, ours)
                cands += [c for c in (registered, final) if c is not None]
            affected = {target_id, *(t.id for t in torn),
                        *(cid for cid, e in self.model.entries.items()
                          if any(p == proc.pid for p, _ in e.pids))}
            self.pending = (cands, affected)
            return f"{res.argv} killed"
        self.expect_rc(res, 0)
        _, final, torn = self.predict_limit(proc.pid, args, target, origin, target_id, ours)
        self.model = final
        self.limited_ok.add(target_id)
        self.expect_pair(target, res.argv)
        self.expect_conf(final.entries[target_id], res.argv, final)
        if ids_before is not None:
            ids_after = sorted(a["id"] for a in self.ct_attachments(target))
            if ids_after != ids_before:
                raise Violation(f"{res.argv} changed the rate of an attached limit by "
                                f"replacing its programs {ids_before} with {ids_after}")
        for e in torn:
            self.expect_nothing_on(e, res.argv)
        return f"{res.argv} (cgroup {target})"

    def op_limit_isolate(self, **kw):
        return self.op_limit(isolate=True, **kw)

    def op_limit_dead(self):
        proc = self.rng.choice(self.dead())
        res = self.ct("limit", proc.pid, "10mbit")
        self.expect_rc(res, 1)
        if len(res.err.splitlines()) != 1:
            raise Violation(f"expected one line on stderr:\n{res}")
        return f"{res.argv} refused"

    def op_unlimit(self, pid, kill_after=None):
        ours = self.marked()
        res = self.ct("unlimit", pid, kill_after=kill_after)
        final, torn = self.predict_unlimit(pid, ours)
        if res.killed:
            affected = {t.id for t in torn} | {
                cid for cid, e in self.model.entries.items() if any(p == pid for p, _ in e.pids)}
            self.pending = ([self.model.copy(), final], affected)
            return f"{res.argv} killed"
        self.expect_rc(res, 0)
        self.model = final
        for e in torn:
            self.expect_nothing_on(e, res.argv)
        return f"{res.argv} (tore down {[e.path for e in torn]})"

    def op_unlimit_limited(self, **kw):
        alive = {p.pid for p in self.alive()}
        return self.op_unlimit(self.rng.choice([p for p in self.limited_pids() if p in alive]), **kw)

    def op_unlimit_free(self):
        limited = set(self.limited_pids())
        return self.op_unlimit(self.rng.choice([p.pid for p in self.alive() if p.pid not in limited]))

    def op_unlimit_dead(self, **kw):
        return self.op_unlimit(self.rng.choice(self.dead()).pid, **kw)

    def op_cleanup(self, kill_after=None):
        ours = self.marked()
        res = self.ct("cleanup", kill_after=kill_after)
        final, _ = self.predict_cleanup(ours)
        if res.killed:
            self.pending = ([self.model.copy(), final], set(self.model.entries))
            return f"{res.argv} killed"
        self.expect_rc(res, 0)
        self.model = final
        self.expect_clean_slate(res.argv)
        return "cleanup"

    def op_limit_cgroup(self, kill_after=None):
        """`ct limit --cgroup PATH`: a new limit, the cgroup's own, or a
        limited cgroup's new rate, its limit now the cgroup's own."""
        going = {e.path for e in self.reaping}
        pool = [rel for rel in self.tree() if rel not in going]
        limited = [e.path for e in self.model.entries.values() if e.path in pool]
        rel = self.rng.choice(limited if limited and self.rng.random() < 0.5 else pool)
        path = self.cg2 + rel if self.rng.random() < 0.2 else rel
        args = LimitArgs(self.rng, False)
        cid = self.cgroup_id(rel)
        in_place = cid in self.model.entries and cid not in self.model.excused
        ids_before = sorted(a["id"] for a in self.ct_attachments(rel)) if in_place else None
        registered, final = self.predict_limit_cgroup(rel, args)
        res = self.ct(*args.argv_cgroup(path), kill_after=kill_after)
        if res.killed:
            cands = [self.model.copy(), *(c for c in (registered, final) if c is not None)]
            self.pending = (cands, {cid})
            return f"{res.argv} killed"
        self.expect_rc(res, 0)
        self.model = final
        self.limited_ok.add(cid)
        self.expect_pair(rel, res.argv)
        self.expect_conf(final.entries[cid], res.argv, final)
        if ids_before is not None:
            ids_after = sorted(a["id"] for a in self.ct_attachments(rel))
            if ids_after != ids_before:
                raise Violation(f"{res.argv} changed the rate of an attached limit by "
                                f"replacing its programs {ids_before} with {ids_after}")
        return f"{res.argv}{' (a rate change)' if registered is None else ''}"

    def op_unlimit_cgroup(self, kill_after=None):
        """`ct unlimit --cgroup PATH` of a limited cgroup, whoever made the
        limit, or of one that is not limited (a note, exit 0)."""
        limited = [e.path for e in self.model.entries.values()]
        rel = self.rng.choice(limited if limited and self.rng.random() < 0.7 else self.tree())
        path = self.cg2 + rel if self.rng.random() < 0.2 else rel
        ours = self.marked()
        final, torn = self.predict_unlimit_cgroup(rel, ours)
        argv = ["unlimit", *self.rng.choice(([f"--cgroup={path}"], ["--cgroup", path]))]
        res = self.ct(*argv, kill_after=kill_after)
        if res.killed:
            self.pending = ([self.model.copy(), final],
                            {self.cgroup_id(rel), *(e.id for e in torn)} - {None})
            return f"{res.argv} killed"
        self.expect_rc(res, 0)
        if not torn and not res.err.strip():
            raise Violation(f"unlimit --cgroup of a cgroup that is not limited said nothing:\n{res}")
        self.model = final
        for e in torn:
            self.expect_nothing_on(e, res.argv)
        return f"{res.argv} (tore down {[e.path for e in torn]})"

    def op_cgroup_refused(self):
        """--cgroup paths that ct must refuse, changing nothing."""
        slot, other = self.rng.sample(self.slots, 2)
        verb, path, rc = self.rng.choice((
            ("limit", "/", 1), ("limit", self.cg2, 1),
            ("limit", f"{slot}/..", 2), ("limit", f"{slot}/../{other[1:]}", 2),
            ("limit", f"{slot}/.", 2), ("limit", f"{slot}/cgroup.procs", 2),
            ("limit", f"{slot}/ctmodel-none", 2),
            ("unlimit", f"{slot}/../{other[1:]}", 2), ("unlimit", f"{slot}/cgroup.procs", 2),
            ("unlimit", f"{slot}/ctmodel-none", 2)))
        argv = [verb, "--cgroup", path, *(["1mbit"] if verb == "limit" else [])]
        registry = read_file(REGISTRY)
        progs = sorted(p["id"] for p in self.loaded_ct()[0])
        attached = {rel: self.ct_attachments(rel) for rel in ["/", *self.tree()]}
        res = self.ct(*argv)
        self.expect_rc(res, rc)
        if len(res.err.splitlines()) != 1:
            raise Violation(f"expected one line on stderr:\n{res}")
        if read_file(REGISTRY) != registry:
            raise Violation(f"{res.argv} was refused but changed the registry")
        if (sorted(p["id"] for p in self.loaded_ct()[0]) != progs
                or {rel: self.ct_attachments(rel) for rel in attached} != attached):
            raise Violation(f"{res.argv} was refused but changed ct's programs")
        return f"{res.argv} refused ({rc})"

    # ---- ct run

    def ct_dirs(self, slot):
        return {f"{slot}/{d}" for d in listdir(self.abs(slot)) if d.startswith("ct-")
                and os.path.isdir(f"{self.abs(slot)}/{d}")}

    def launch_run(self, slot, argv):
        """ct run, started from slot as a shell would be there."""
        self.invocations += 1
        out = tempfile.TemporaryFile(dir=self.tmp)
        err = tempfile.TemporaryFile(dir=self.tmp)
        p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
                              "sh", self.abs(slot), self.ct_path, *argv],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return Run(p, argv, slot, out, err)

    def run_result(self, run):
        run.out.seek(0)
        run.err.seek(0)
        res = Result(run.argv, run.popen.returncode, run.out.read(), run.err.read())
        run.out.close()
        run.err.close()
        return res

    def wait_run(self, run):
        try:
            run.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.popen.kill()
            run.popen.wait()
            raise Violation(f"ct {' '.join(run.argv)} did not finish within 30 s")
        return self.run_result(run)

    def run_entry(self, m, args, target, slot, cmd, start):
        e = m.entries[self.cgroup_id(target)] = Entry(self.cgroup_id(target), target, slot, "run")
        args.apply(e)
        if start is not None:
            e.pids.append((cmd, start))
        m.excused.discard(e.id)
        return e

    def op_run(self, kill_after=None):
        """`ct run RATE -- sleep`, from one of the test's cgroups, left to
        wait for its command."""
        slot = self.rng.choice(self.slots)
        args = LimitArgs(self.rng, False)
        run = self.launch_run(slot, args.argv_run(LONG_COMMAND))
        if kill_after is not None:
            return self.kill_run_early(run, args, kill_after)
        for _ in range(2000):
            if run.popen.poll() is not None:
                raise Violation(f"ct run exited before its command ran:\n{self.run_result(run)}")
            ready = [pid for pid, (_, comm) in children_of(run.popen.pid).items()
                     if comm == "sleep"]
            if ready:
                break
            time.sleep(0.005)
        else:
            raise Violation(f"ct {' '.join(run.argv)} did not start its command in 10 s")
        pid = ready[0]
        target = f"{slot}/ct-{pid}"
        if proc_cgroup(pid) != target or not self.is_ours(target):
            raise Violation(f"ct {' '.join(run.argv)} runs its command in {proc_cgroup(pid)}, "
                            f"not in a cgroup of ct's {target}")
        proc = self.procs[pid] = Proc(pid, start_time(pid))
        m = self.model.copy()
        e = self.run_entry(m, args, target, slot, pid, proc.start)
        m.cgroup_of[pid] = target
        self.model = m
        self.limited_ok.add(e.id)
        run.cmd = proc
        self.runs.append(run)
        self.expect_pair(target, run.argv)
        self.expect_conf(e, run.argv, m)
        return f"{run.argv} from {slot}: {pid} in {target}"

    def op_run_short(self, kill_after=None):
        """`ct run RATE -- sh -c 'sleep &'`: the command exits at once, its
        daemon stays, and so do the limit and the cgroup."""
        slot = self.rng.choice(self.slots)
        args = LimitArgs(self.rng, False)
        before = self.ct_dirs(slot)
        run = self.launch_run(slot, args.argv_run(SHORT_COMMAND))
        if kill_after is not None:
            return self.kill_run_early(run, args, kill_after, before)
        return self.finish_short(run, args, self.wait_run(run), before)

    def finish_short(self, run, args, res, before):
        slot = run.slot
        self.expect_rc(res, 0)
        daemons = self.settle_orphans()
        made = self.ct_dirs(slot) - before
        if len(made) != 1:
            raise Violation(f"{res} made the cgroups {sorted(made)}")
        target = made.pop()
        cmd = int(target.rsplit("/ct-", 1)[1])
        cid = self.cgroup_id(target)
        if len(daemons) != 1 or proc_cgroup(daemons[0]) != target:
            raise Violation(f"{res}: its daemon, one of {daemons}, is not in {target}")
        daemon = self.procs[daemons[0]] = Proc(daemons[0], start_time(daemons[0]))
        start = registry_starts().get(cid, {}).get(cmd)
        if start is None or not run.start <= start <= daemon.start:
            raise Violation(f"{res}: the registry gives its command {cmd} the start time "
                            f"{start}, not one between ct run's {run.start} and its "
                            f"daemon's {daemon.start}")
        if target.encode() not in res.err:
            raise Violation(f"{res}: not a word of the limit that stays on {target}")
        dead = self.procs[cmd] = Proc(cmd, start)
        dead.alive = False
        m = self.model.copy()
        e = self.run_entry(m, args, target, slot, cmd, start)
        m.cgroup_of[daemon.pid] = target
        self.model = m
        self.limited_ok.add(cid)
        self.expect_pair(target, res.argv)
        self.expect_conf(e, res.argv, m)
        return f"{res.argv} from {slot}: daemon {daemon.pid} left in {target}"

    def kill_run_early(self, run, args, kill_after, before=None):
        """ct run killed kill_after seconds after it started: what it made
        stays, the command if it had started; a command not yet started
        never does (its ct is gone), and then the next ct removes the limit
        of the emptied cgroup."""
        slot = run.slot
        before = self.ct_dirs(slot) if before is None else before
        # The clock starts when the shell has joined slot, which may take it
        # many milliseconds, and become ct.
        for _ in range(10000):
            st = proc_stat(run.popen.pid)
            if st is None or st[0] == "Z" or st[2] != "sh":
                break
            time.sleep(0.0002)
        time.sleep(kill_after)
        run.popen.kill()
        run.popen.wait()
        res = self.run_result(run)
        if not res.killed:
            if run.argv[-len(SHORT_COMMAND):] != SHORT_COMMAND:
                raise Violation(f"ct run of a command that waits exited:\n{res}")
            self.kills["too late"] += 1
            return "too late: " + self.finish_short(run, args, res, before)
        kids = self.settle_orphans()
        made = self.ct_dirs(slot) - before
        if len(made) > 1 or kids and not made:
            raise Violation(f"{res}: cgroups {sorted(made)} made, processes {kids} left")
        for k in kids:
            self.procs[k] = Proc(k, start_time(k))
        cands = []
        if not kids:
            cand = self.model.copy()
            cands.append(cand)
        affected = set()
        if made:
            target = next(iter(made))
            cmd = int(target.rsplit("/ct-", 1)[1])
            start = start_time(cmd) if cmd in kids else registry_starts().get(
                self.cgroup_id(target), {}).get(cmd)
            cand = self.model.copy()
            self.run_entry(cand, args, target, slot, cmd, start)
            for k in kids:
                cand.cgroup_of[k] = target
            cands.append(cand)
            if cmd not in kids and start is not None and kids:
                dead = self.procs[cmd] = Proc(cmd, start)
                dead.alive = False
            if not kids:
                affected.add(self.cgroup_id(target))
                if self.cgroup_id(target) in registry_starts():
                    # written down, and empty: the next ct removes it
                    self.reaping.append(Entry(self.cgroup_id(target), target, slot, "run"))
        self.pending = (cands, affected)
        self.run_kills["while waiting" if kids else "before the command" if made
                       else "before its cgroup"] += 1
        return f"{res.argv} from {slot} killed; left {sorted(made)}, processes {kids}"

    def op_kill_run(self):
        """kill -9 of a ct run that waits: its command runs on, its limit
        stays until the command has gone."""
        run = self.rng.choice(self.runs)
        run.popen.kill()
        run.popen.wait()
        self.runs.remove(run)
        self.run_result(run)
        self.run_kills["while waiting"] += 1
        return f"kill -9 ct run {run.popen.pid} (its command {run.cmd.pid} runs on)"

    def op_kill_ct(self):
        kill_after = self.rng.uniform(0, self.rng.choice((0.003, 0.015)))
        choices = [("limit-cgroup", self.op_limit_cgroup),
                   ("unlimit-cgroup", self.op_unlimit_cgroup)]
        for name in ("limit", "limit-isolate"):
            if self.usable(name):
                choices.append((name, getattr(self, "op_" + name.replace("-", "_"))))
        if self.usable("run"):
            choices += [("run", self.op_run), ("run-short", self.op_run_short)]
        if self.usable("unlimit-limited"):
            choices.append(("unlimit-limited", self.op_unlimit_limited))
        if self.usable("unlimit-dead"):
            choices.append(("unlimit-dead", self.op_unlimit_dead))
        if self.rng.random() < 0.15:
            choices = [("cleanup", self.op_cleanup)]
        name, op = self.rng.choice(choices)
        if name.startswith("run"):
            # from ct's start, it makes the cgroup after about 1 ms and
            # starts the command after about 3
            kill_after = self.rng.uniform(0, 0.004)
        text = op(kill_after=kill_after)
        if not name.startswith("run"):     # ct run counts its own
            self.kills["mid-run" if self.pending else "too late"] += 1
        return f"kill after {kill_after * 1000:.1f} ms: {text}"

    def in_runs(self):
        """Processes in the cgroup of a ct run's limit: commands, daemons."""
        runs = {e.path for e in self.model.entries.values() if e.owner == "run"}
        return [p for p in self.alive() if self.model.cgroup_of[p.pid] in runs]

    def op_kill_run_process(self):
        """kill -9 of a command or daemon in a ct run's cgroup, most often
        the last one there."""
        return self.op_kill_process(self.rng.choice(self.in_runs()))

    def op_kill_process(self, proc=None):
        proc = proc or self.rng.choice(self.alive())
        run = next((r for r in self.runs if r.cmd is proc), None)
        self.kill(proc)
        text = f"kill -9 {proc.pid}"
        if run is not None:
            # ct run waits for it, removes its limit if its cgroup is empty
            # and exits as it did.
            self.runs.remove(run)
            res = self.wait_run(run)
            if res.rc != 128 + signal.SIGKILL or any(
                    not line.startswith(b"ct: ") for line in res.err.splitlines()):
                raise Violation(f"ct run of a command killed by SIGKILL:\n{res}")
            torn = []
            self.reap(self.model, torn)
            for e in torn:
                self.expect_nothing_on(e, f"{res.argv} after its command was killed")
            self.reaped["ct run"] += len(torn)
            return text + f", the command of ct run {run.popen.pid} (it removed {[e.path for e in torn]})"
        torn = self.reap_now()
        if torn:
            text += f" (the next ct removes {[e.path for e in torn]})"
            if self.rng.random() < 0.5:
                follow = [op for op in ("limit", "limit-isolate", "unlimit-limited", "unlimit-free",
                                        "unlimit-dead", "limit-cgroup", "unlimit-cgroup",
                                        "run-short", "cleanup") if op in self.ops and self.usable(op)]
                if follow:
                    op = self.rng.choice(follow)
                    text += "; then " + getattr(self, "op_" + op.replace("-", "_"))()
                    if self.pending is None:
                        for e in torn:
                            self.expect_nothing_on(e, f"{text}, the first ct since")
                        self.reaped["the next command"] += len(torn)
                        self.reaping = []
        return text

    def op_start_process(self):
        slot = self.rng.choice(self.slots)
        return f"start {self.spawn(slot).pid} in {slot}"

    def op_remove_cgroup(self):
        limited = [s for s in self.slots[1:]
                   if any(e.path == s or e.path.startswith(s + "/")
                          for e in self.model.entries.values())]
        slot = self.rng.choice(limited or self.slots[1:])
        for run in [r for r in self.runs if r.slot == slot]:
            run.popen.kill()
            run.popen.wait()
            self.run_result(run)
            self.runs.remove(run)
        for proc in self.alive():
            cg = proc_cgroup(proc.pid)
            if cg == slot or cg.startswith(slot + "/"):
                self.kill(proc)
        for rel in reversed([r for r in self.tree() if r == slot or r.startswith(slot + "/")]):
            self.rmdir(rel)
        os.mkdir(self.abs(slot))
        before = set(self.model.entries)
        self.reconcile(self.model)
        self.unpin_expected = before - set(self.model.entries)
        return f"remove and recreate {slot} (now id {self.cgroup_id(slot)})"

    def op_delete_registry(self):
        os.unlink(REGISTRY)
        self.model.excused.update(self.model.entries)
        self.model.entries = {}
        return f"rm {REGISTRY}"

    def op_delete_pin(self):
        cid = self.rng.choice([cid for cid in self.model.entries
                               if os.path.exists(f"{PIN_ROOT}/{cid}/ingress")])
        os.unlink(f"{PIN_ROOT}/{cid}/ingress")
        self.model.excused.add(cid)
        return f"rm {PIN_ROOT}/{cid}/ingress"

    def usable(self, op):
        alive = {p.pid for p in self.alive()}
        limited = set(self.limited_pids())
        return {
            "limit": bool(self.limitable(False)), "limit-isolate": bool(self.limitable(True)),
            "run": len(alive) < NPROCS, "run-short": len(alive) < NPROCS,
            "kill-run": bool(self.runs), "kill-run-process": bool(self.in_runs()),
            "limit-dead": bool(self.dead()),
            "unlimit-limited": bool(limited & alive),
            "unlimit-free": bool(alive - limited),
            "unlimit-dead": bool(self.dead()),
            "kill-process": bool(alive), "start-process": len(alive) < NPROCS,
            "kill-ct": True,
            "delete-registry": os.path.exists(REGISTRY),
            "delete-pin": any(os.path.exists(f"{PIN_ROOT}/{cid}/ingress")
                              for cid in self.model.entries),
        }.get(op, True)

    # ---- the judge: after every step

    def check(self, what):
        res = self.ct("status", "--json")
        self.expect_rc(res, 0)
        try:
            doc = json.loads(res.out.decode("utf-8"))
            actual = status_view(doc)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            raise Violation(f"ct status --json printed no valid document ({err}):\n{res}")

        if self.pending is not None:
            self.adopt_after_kill(actual, what)
        for e in self.reaping:
            # a ct run's emptied cgroup: the first ct since removed it
            self.expect_nothing_on(e, f"{what} and ct status")
            self.reaped["ct status"] += 1
        self.reaping = []
        for run in self.runs:
            if run.popen.poll() is not None:
                raise Violation(f"after {what}: ct run exited while its command runs:\n"
                                f"{self.run_result(run)}")
        want = self.model.registry()
        if actual != want:
            raise Violation(f"after {what}: ct status --json differs from the model:\n"
                            + describe_diff(want, actual))
        for c in doc["cgroups"]:
            for p in c["pids"]:
                if p["alive"] != (start_time(p["pid"]) == p["start_time"]):
                    raise Violation(f"status says pid {p['pid']} alive={p['alive']}")

        for cid in self.unpin_expected:
            if os.path.exists(f"{PIN_ROOT}/{cid}"):
                raise Violation(f"after {what}: the cgroup of entry {cid} is gone, its pins "
                                f"are not: {listdir(f'{PIN_ROOT}/{cid}')}")
        self.unpin_expected = set()
        pins = registry_pins()
        for cid in actual:
            if pins.get(cid) != f"{PIN_ROOT}/{cid}":
                raise Violation(f"registry pins of cgroup {cid}: {pins.get(cid)}")
        progs, maps = self.loaded_ct()
        pinned = {p["id"]: p.get("pinned", []) for p in progs}
        attached_anywhere = set()
        status_attached = {c["id"]: c["attached"] for c in doc["cgroups"]}

        for rel in self.tree():
            cid = self.cgroup_id(rel)
            att = self.attachments(rel)
            ct_att = [a for a in att if a["name"] in CT_PROG_OF.values()]
            hooks = []
            for a in ct_att:
                hook = HOOK_OF.get(a["attach_type"])
                if a["name"] != CT_PROG_OF.get(hook):
                    raise Violation(f"{a['name']} attached to {rel} as {a['attach_type']}")
                hooks.append(hook)
                attached_anywhere.add(a["id"])
                accounted = cid in actual and f"{PIN_ROOT}/{cid}/{hook}" in pinned.get(a["id"], [])
                if not accounted and cid not in self.model.excused:
                    raise Violation(
                        f"after {what}: {a['name']} (id {a['id']}) on {rel} (id {cid}) is "
                        f"accounted for by no registry entry and pin "
                        f"(pinned at {pinned.get(a['id'])}, entry: {cid in actual})")
            if len(hooks) != len(set(hooks)) and cid in self.limited_ok:
                raise Violation(f"after {what}: two ct programs on one hook of {rel}: {ct_att}")
            pair = sorted(hooks) == ["egress", "ingress", "sockops"]
            if cid in status_attached and status_attached[cid] != pair:
                raise Violation(f"after {what}: ct status says attached="
                                f"{status_attached[cid]} for {rel}, bpftool shows {ct_att}")
            if rel.rsplit("/", 1)[1].startswith("ct-") and not self.is_ours(rel):
                raise Violation(f"after {what}: {rel} is named like ct's cgroups "
                                f"but has not ct's mark, so no ct will remove it")
            if rel == self.slots[0]:
                foreign = [a for a in att if a["id"] == self.foreign_id]
                if [(a["name"], a["attach_type"], a["attach_flags"]) for a in foreign] != [
                        ("cttest_foreign", "cgroup_inet_egress", "multi")]:
                    raise Violation(f"after {what}: the foreign program {self.foreign_id} "
                                    f"is no longer attached to {rel}: {att}")
            if cid in self.model.excused:
                continue
            if cid in self.model.entries:
                if not pair:
                    raise Violation(f"after {what}: {rel} is limited, bpftool shows {ct_att}")
                have = set(listdir(f"{PIN_ROOT}/{cid}"))
                if have != PIN_NAMES:
                    raise Violation(f"after {what}: pins of {rel}: {sorted(have)}")
                self.expect_conf(self.model.entries[cid], what)
            elif ct_att:
                raise Violation(f"after {what}: {rel} is not limited, bpftool shows {ct_att}")

        if self.ct_attachments("/"):
            raise Violation(f"after {what}: ct programs on the root cgroup: "
                            f"{self.ct_attachments('/')}")
        self.check_leaks(attached_anywhere, what)
        for proc in self.alive():
            real = proc_cgroup(proc.pid)
            if real != self.model.cgroup_of[proc.pid]:
                raise Violation(f"after {what}: process {proc.pid} is in {real}, "
                                f"the model says {self.model.cgroup_of[proc.pid]}")

    def check_leaks(self, attached, what):
        """Every program of ct's is attached or pinned; every map is used or pinned."""
        for _ in range(30):
            progs, maps = self.loaded_ct()
            used = {mid for p in progs for mid in p.get("map_ids", [])}
            lost = [p["id"] for p in progs if p["id"] not in attached and not p.get("pinned")]
            lost += [m["id"] for m in maps if m["id"] not in used and not m.get("pinned")]
            if not lost:
                return
            time.sleep(0.1)
            attached = {a["id"] for rel in self.tree() for a in self.ct_attachments(rel)}
        raise Violation(f"after {what}: objects of ct's neither attached nor pinned: {lost}")

    def adopt_after_kill(self, actual, what):
        """ct was killed: the registry must be one the command passes through."""
        cands, affected = self.pending
        self.pending = None
        for cand in cands:
            m = self.reap(self.reconcile(cand.copy()))
            if m.registry() == actual:
                break
        else:
            raise Violation(
                f"after {what}: the registry is none of the states ct passes through:\n"
                + "\n".join(describe_diff(self.reap(self.reconcile(c.copy())).registry(), actual)
                            for c in cands))
        for pid in m.cgroup_of:
            real = proc_cgroup(pid)
            if real not in {c.cgroup_of.get(pid) for c in cands}:
                raise Violation(f"after {what}: process {pid} is in {real}")
            m.cgroup_of[pid] = real
        m.excused = self.model.excused | {cid for cid in affected if cid is not None}
        self.model = m

    # ---- the walk

    def setup(self):
        res = self.ct("cleanup")
        self.expect_rc(res, 0)
        for slot in self.slots:
            os.mkdir(self.abs(slot))
        for n in range(NPROCS):
            self.spawn(self.slots[n % NCGROUPS])
        obj = os.path.join(self.tmp, "foreign.o")
        subprocess.run(["clang", "-O2", "-target", "bpf", "-c",
                        os.path.join(HERE, "foreign_prog.c"), "-o", obj], check=True)
        subprocess.run(["bpftool", "prog", "load", obj, self.foreign_pin], check=True)
        self.foreign_id = bpftool("prog", "show", "pinned", self.foreign_pin)["id"]
        subprocess.run(["bpftool", "cgroup", "attach", self.abs(self.slots[0]), "egress",
                        "pinned", self.foreign_pin, "multi"], check=True)

    def walk(self):
        ops = list(self.ops)
        self.check("setup")
        for self.step in range(1, self.steps + 1):
            while True:
                op = self.rng.choices(ops, [WEIGHTS[o] for o in ops])[0]
                if self.usable(op):
                    break
            self.ops[op] += 1
            what = getattr(self, "op_" + op.replace("-", "_"))()
            self.say(what)
            self.check(what)
        self.step += 1
        self.say("final cleanup")
        ours = self.marked()
        res = self.ct("cleanup")
        self.expect_rc(res, 0)
        self.model, _ = self.predict_cleanup(ours)
        self.expect_clean_slate("the final ct cleanup")
        self.check("the final ct cleanup")

    def rmdir(self, rel):
        for _ in range(50):
            try:
                os.rmdir(self.abs(rel))
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)    # a killed process leaves its cgroup a moment later
        os.rmdir(self.abs(rel))

    def teardown(self):
        """Remove everything the test made; return what could not be removed."""
        problems = []

        def attempt(what, fn, *args):
            try:
                fn(*args)
            except Exception as err:    # keep going: remove all that can be removed
                problems.append(f"{what}: {err}")

        for run in list(self.runs):
            attempt(f"kill ct run {run.popen.pid}", lambda: (run.popen.kill(), run.popen.wait()))
        for proc in self.alive():
            attempt(f"kill {proc.pid}", self.kill, proc)
        self.runs = []
        attempt("reap orphans", self.settle_orphans)
        attempt("ct cleanup", lambda: self.ct("cleanup"))
        if os.path.exists(self.foreign_pin):
            attempt("detach the foreign program", lambda: subprocess.run(
                ["bpftool", "cgroup", "detach", self.abs(self.slots[0]), "egress",
                 "pinned", self.foreign_pin], check=True, capture_output=True))
            attempt("unpin the foreign program", os.unlink, self.foreign_pin)
        for rel in reversed(self.tree()):
            attempt(f"rmdir {rel}", self.rmdir, rel)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def expect_gone(self):
        """The test's own objects are gone too."""
        left = [name for name in os.listdir(self.cg2) if name.startswith(self.prefix + ".")]
        if left:
            raise Violation(f"cgroups of the test left: {left}")
        if os.path.exists(self.foreign_pin):
            raise Violation(f"{self.foreign_pin} left")
        for _ in range(30):
            foreign = [p for p in bpftool("prog", "show") if p["id"] == self.foreign_id]
            if not foreign:
                break
            time.sleep(0.1)
        else:
            raise Violation(f"the foreign program {self.foreign_id} is still loaded")
        for proc in self.procs.values():
            if start_time(proc.pid) == proc.start:
                raise Violation(f"process {proc.pid} of the test still runs")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    ap.add_argument("--seed", type=int)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--ct", default=os.environ.get("CT") or os.path.join(HERE, "..", "ct"))
    ap.add_argument("--skip", action="append", default=[], choices=sorted(WEIGHTS),
                    metavar="OP", help="leave out an operation: " + ", ".join(WEIGHTS))
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("model.py: must run as root")
    # What ct run leaves (a command whose ct run was killed, a daemon) comes
    # to the test, which reaps it.
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("model.py: cannot become a child subreaper")
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"seed {seed}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    test = ModelTest(seed, opts.steps, os.path.abspath(opts.ct), opts.verbose, opts.skip)
    failure = None
    try:
        test.setup()
        test.walk()
    except Violation as v:
        failure = v
    except Exception:
        failure = traceback.format_exc()
    finally:
        problems = test.teardown()
    if failure is None and not problems:
        try:
            test.expect_gone()
        except Violation as v:
            failure = v
    print(f"{test.step if failure else opts.steps} steps, {test.invocations} ct invocations, "
          f"ct killed {test.kills['mid-run']} times mid-run "
          f"({test.kills['too late']} kills came too late); ct run killed "
          f"{test.run_kills['before its cgroup']} times before it made its cgroup, "
          f"{test.run_kills['before the command']} times after but before its command started, "
          f"{test.run_kills['while waiting']} times while it waited; limits of emptied "
          f"ct run cgroups removed by " + ", ".join(f"{who} {n}" for who, n in test.reaped.items()),
          flush=True)
    print("operations: " + ", ".join(f"{op} {n}" for op, n in test.ops.items()), flush=True)
    if problems:
        print("teardown: " + "; ".join(problems), file=sys.stderr)
    if failure is not None:
        print(f"FAILED at step {test.step} (replay: {sys.argv[0]} --seed {seed} "
              f"--steps {test.step}):\n{failure}", file=sys.stderr)
        print("last steps:\n  " + "\n  ".join(test.history), file=sys.stderr)
    return 1 if failure is not None or problems else 0


if __name__ == "__main__":
    sys.exit(main())
