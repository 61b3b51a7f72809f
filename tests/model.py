#!/usr/bin/env python3
"""
Model-based lifecycle test of ct.

A seeded random walk over ct's commands and the accidents that happen around
them, on 8 cgroups and 16 sleeping processes: limits and rate changes,
--isolate, unlimits of live, dead and never-limited processes, processes and
cgroups dying under a limit, cleanups, a registry or a pin deleted by hand,
and ct killed part-way through a command.  A model predicts what the
registry and the kernel hold; after every step `ct status --json`, bpftool,
the pins and the cgroup files are compared with it.

    model.py [--seed N] [--steps N] [--ct PATH] [--skip OP]... [--verbose]

The seed is printed first; `--seed N --steps M` replays a failure at step M,
and `--skip OP` leaves an operation out, to see whether a failure needs it.
Needs root, a cgroup2 mount, bpftool and clang.
"""

import argparse
import copy
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
PIN_NAMES = {"ingress", "egress", "conf", "bucket_down", "bucket_up"}
HOOK_OF = {"cgroup_inet_ingress": "ingress", "cgroup_inet_egress": "egress"}
CT_PROG_OF = {"ingress": "ct_ingress", "egress": "ct_egress"}
CT_MAPS = {"ct_conf", "ct_bucket"}
NCGROUPS = 8
CT_MAX_INNER = 8
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
    "delete-registry": 2, "delete-pin": 3, "kill-ct": 10,
}


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


# ---------------------------------------------------------------- the model

class Entry:
    """One registry entry, as ct must have written it."""

    def __init__(self, cid, path, origin):
        self.id, self.path, self.origin = cid, path, origin
        self.limits = {"down": (0, 0), "up": (0, 0)}
        self.pids = []

    def view(self):
        return {"path": self.path, "isolated": self.origin is not None,
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
            "path": c["path"], "isolated": c["isolated"],
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

    def apply(self, entry):
        for d, bits in self.rates.items():
            burst = self.burst or min(max(bits // 8, BURST_FLOOR[d]), BURST_CEILING)
            entry.limits[d] = (bits, burst)


class Proc:
    def __init__(self, popen, start):
        self.popen, self.pid, self.start = popen, popen.pid, start
        self.alive = True


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
        self.ops = {op: 0 for op in WEIGHTS if op not in skip}
        self.history = []
        self.tmp = tempfile.mkdtemp(prefix="ctmodel.")
        self.foreign_pin = f"{BPFFS}/ctmodel_foreign_{os.getpid()}"
        self.foreign_id = None
        self.pending = None     # what a killed ct may have left, until the next status
        self.limited_ok = set()  # cgroup ids on which a `ct limit` has exited 0
        self.unpin_expected = set()  # entries whose cgroup went: the next ct unpins them
        # ct was killed since the last limit or unlimit that succeeded, which
        # rewrites what the conf maps say of nesting
        self.conf_unsure = False

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
        proc = Proc(p, start_time(p.pid))
        self.procs[p.pid] = proc
        self.model.cgroup_of[p.pid] = slot
        return proc

    def kill(self, proc):
        proc.popen.kill()
        proc.popen.wait()
        proc.alive = False
        self.model.cgroup_of.pop(proc.pid, None)

    def alive(self):
        return [p for p in self.procs.values() if p.alive]

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
                if not other.pids:
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
            if keep:
                e.pids = keep
            else:
                self.undo_entry(m, e, torn, ours)
        m.excused.difference_update(t.id for t in torn)
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
        want = [("ct_egress", "egress", "multi"), ("ct_ingress", "ingress", "multi")]
        if seen != want:
            raise Violation(f"after {what}: expected one ct_ingress and one ct_egress "
                            f"(multi) on {rel} (id {cid}), bpftool shows {seen}")

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
        proc = proc or self.rng.choice(self.alive())
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
        self.conf_unsure = False
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
        self.conf_unsure = False
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

    def op_kill_ct(self):
        kill_after = self.rng.uniform(0, self.rng.choice((0.003, 0.015)))
        choices = [("limit", self.op_limit), ("limit-isolate", self.op_limit_isolate)]
        if self.usable("unlimit-limited"):
            choices.append(("unlimit-limited", self.op_unlimit_limited))
        if self.usable("unlimit-dead"):
            choices.append(("unlimit-dead", self.op_unlimit_dead))
        if self.rng.random() < 0.15:
            choices = [("cleanup", self.op_cleanup)]
        _, op = self.rng.choice(choices)
        text = op(kill_after=kill_after)
        self.kills["mid-run" if self.pending else "too late"] += 1
        self.conf_unsure |= self.pending is not None
        return f"kill after {kill_after * 1000:.1f} ms: {text}"

    def op_kill_process(self):
        proc = self.rng.choice(self.alive())
        self.kill(proc)
        return f"kill -9 {proc.pid}"

    def op_start_process(self):
        slot = self.rng.choice(self.slots)
        return f"start {self.spawn(slot).pid} in {slot}"

    def op_remove_cgroup(self):
        limited = [s for s in self.slots[1:]
                   if any(e.path == s or e.path.startswith(s + "/")
                          for e in self.model.entries.values())]
        slot = self.rng.choice(limited or self.slots[1:])
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
            "limit": bool(alive), "limit-isolate": bool(alive),
            "limit-dead": bool(self.dead()),
            "unlimit-limited": bool(limited & alive),
            "unlimit-free": bool(alive - limited),
            "unlimit-dead": bool(self.dead()),
            "kill-process": bool(alive), "start-process": len(alive) < NPROCS,
            "kill-ct": bool(alive),
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
            pair = sorted(hooks) == ["egress", "ingress"]
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
                if not self.conf_unsure:
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
            m = self.reconcile(cand.copy())
            if m.registry() == actual:
                break
        else:
            raise Violation(
                f"after {what}: the registry is none of the states ct passes through:\n"
                + "\n".join(describe_diff(self.reconcile(c.copy()).registry(), actual)
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

        for proc in self.alive():
            attempt(f"kill {proc.pid}", self.kill, proc)
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
          f"({test.kills['too late']} kills came too late)", flush=True)
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
