#!/usr/bin/env python3
"""The socket side of `timewait kernel`: runs a scenario's host programs on this machine's Linux.

Started by src/kernel/kernel-run.ts as `unshare --net python3 helper.py PLAN.json RESULT.json`,
so everything here happens in a private network namespace that dies with this process: `lo` is
brought up and given each scenario host's address, the plan's sysctls are written for this
namespace only, scripted drops become nftables rules on the input hook (after the capture point,
so a dropped segment is still in the capture, as a simulator trace shows it sent), tcpdump
captures `lo`, and one thread per host makes the blocking socket calls the script names, at the
times it names, recording each result. At the end `ss` reads the sockets' states (TIME-WAIT and
its timer). Node's `net` cannot do this: it cannot bind before connect as a script does, nor set
SO_LINGER.

Written for this project; standard library only (Python 3.8+).
"""
import errno
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

IP_BIND_ADDRESS_NO_PORT = 24


def run(cmd, check=True):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def errno_name(error):
    if isinstance(error, socket.timeout) and getattr(error, "errno", None) is None:
        return "ETIMEDOUT"
    code = getattr(error, "errno", None)
    return errno.errorcode.get(code, str(error)) if code is not None else str(error)


BLOCKING = {"accept", "connect", "recv", "recv-until-eof", "send", "sleep", "sleep-until"}


class CallOrder:
    """Which of the simulator's calls have been issued, and which have returned."""

    def __init__(self, count):
        self.cond = threading.Condition()
        self.state = ["waiting"] * count  # waiting -> blocking|running -> done

    def wait_for_turn(self, index, deadline):
        # A bounded wait: when the kernel's run has gone another way (a call the simulator
        # made never comes), give up waiting after two seconds and go on.
        limit = min(deadline, time.monotonic() + 2.0)
        with self.cond:
            while any(s in ("waiting", "running") for s in self.state[:index]):
                left = limit - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)

    def started(self, index, op):
        with self.cond:
            self.state[index] = "blocking" if op in BLOCKING else "running"
            self.cond.notify_all()

    def done(self, index):
        with self.cond:
            self.state[index] = "done"
            self.cond.notify_all()


class Host(threading.Thread):
    def __init__(self, spec, plan, clock, results, lock):
        super().__init__(daemon=True)
        self.spec = spec
        self.plan = plan
        self.clock = clock
        self.results = results
        self.lock = lock
        self.socks = {}
        # Sockets we bound ourselves before connect/listen, to give them the host's source address.
        self.bound = set()
        self.finished = False
        # An error that ended a read part-way: the read returns its bytes, the next call gets the
        # error, as the simulator's programs see it (Linux reports a socket error only once).
        self.pending_error = {}

    def now_us(self):
        return int((time.monotonic() - self.clock["t0"]) * 1_000_000)

    def remaining(self):
        return max(0.001, self.clock["deadline"] - time.monotonic())

    def record(self, index, step, result, at_us):
        with self.lock:
            self.results.append({"host": self.spec["name"], "step": index, "op": step["op"], "result": result, "atUs": at_us, "endUs": self.now_us()})

    def ip_of(self, name):
        return self.plan["ips"][name]

    def run(self):
        self.ready.wait()  # every thread is up
        self.ready.wait()  # time zero is set
        start_us = self.spec.get("startUs", 0)
        self.sleep_until(start_us)
        for index, step in enumerate(self.spec.get("script", [])):
            order = self.plan["order"]
            sim_index = step.get("simIndex")
            # Keep the simulator's order of calls: not before its time, and not before every call
            # it made earlier has returned or is blocked in the kernel (a listen before a connect
            # made at the same microsecond). A call the simulator never made waits for nothing.
            if sim_index is not None:
                self.sleep_until(step["simAtUs"])
                order.wait_for_turn(sim_index, self.clock["deadline"])
                order.started(sim_index, step["op"])
            at_us = self.now_us()
            try:
                result = self.call(step)
            except socket.timeout as error:
                # Since Python 3.10 socket.timeout is TimeoutError, which the kernel's own
                # ETIMEDOUT (connect after tcp_syn_retries) raises too, with an errno: only an
                # errno-less one is our deadline.
                if error.errno is None:
                    self.record(index, step, "blocked", at_us)
                    return
                result = errno_name(error)
            except OSError as error:
                result = errno_name(error)
            finally:
                if sim_index is not None:
                    order.done(sim_index)
            self.record(index, step, result, at_us)
        self.finished = True

    def sleep_until(self, at_us):
        delay = at_us / 1_000_000 - (time.monotonic() - self.clock["t0"])
        if delay > 0:
            time.sleep(delay)

    def sock(self, name):
        s = self.socks.get(name)
        if s is None:
            raise OSError(errno.EBADF, "no such socket")
        code = self.pending_error.pop(name, None)
        if code is not None:
            raise OSError(code, os.strerror(code))
        return s

    def source_bind(self, name, s):
        """Give an unbound socket the host's address; the port is left to connect (Linux's autobind rules)."""
        if name in self.bound:
            return
        try:
            s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            s.bind((self.ip_of(self.spec["name"]), 0))
        except OSError as error:
            if error.errno != errno.EINVAL:  # already bound
                raise
        self.bound.add(name)

    def call(self, step):
        op = step["op"]
        if op == "socket":
            old = self.socks.pop(step["sock"], None)
            if old is not None:
                old.close()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # The simulator's sockets behave as with TCP_NODELAY (no Nagle; README, "Deliberately left out").
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffers = self.plan.get("socketBuffers", {}).get(self.spec["name"], {})
            if "rcvbuf" in buffers:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffers["rcvbuf"])
            if "sndbuf" in buffers:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffers["sndbuf"])
            self.socks[step["sock"]] = s
            self.bound.discard(step["sock"])
            return "ok"
        if op == "setsockopt":
            s = self.sock(step["sock"])
            if step["option"] == "SO_REUSEADDR":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1 if step["value"] else 0)
            elif step["option"] in ("SO_RCVBUF", "SO_SNDBUF"):
                s.setsockopt(socket.SOL_SOCKET, getattr(socket, step["option"]), step["value"])
            else:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1 if step["onoff"] else 0, step["lingerSec"]))
            return "ok"
        if op == "getsockopt" and step["option"] in ("SO_RCVBUF", "SO_SNDBUF"):
            return f"value {self.sock(step['sock']).getsockopt(socket.SOL_SOCKET, getattr(socket, step['option']))}"
        if op == "bind":
            s = self.sock(step["sock"])
            s.bind((self.ip_of(self.spec["name"]), step["port"]))
            self.bound.add(step["sock"])
            return f"port {s.getsockname()[1]}" if step["port"] == 0 else "ok"
        if op == "listen":
            s = self.sock(step["sock"])
            if step["sock"] not in self.bound:
                s.bind((self.ip_of(self.spec["name"]), 0))
                self.bound.add(step["sock"])
            s.listen(step.get("backlog", 16))
            return "ok"
        if op == "accept":
            s = self.sock(step["sock"])
            s.settimeout(self.remaining())
            conn, _ = s.accept()
            conn.settimeout(None)
            old = self.socks.pop(step["as"], None)
            if old is not None:
                old.close()
            self.socks[step["as"]] = conn
            self.bound.add(step["as"])
            return "ok"
        if op == "connect":
            s = self.sock(step["sock"])
            self.source_bind(step["sock"], s)
            # A truly blocking connect(2): Python's timeouts make the socket non-blocking, and a
            # refused non-blocking connect leaves Linux's socket in another state (a later recv
            # gives 0, not ENOTCONN; a second connect gives ECONNABORTED, with no SYN sent). The
            # run's deadline still ends a connect that never returns (the thread is left behind).
            s.settimeout(None)
            s.connect((self.ip_of(step["host"]), step["port"]))
            return "ok"
        if op == "send":
            s = self.sock(step["sock"])
            data = bytes((i * 7 + 1) & 0xFF for i in range(step["bytes"]))
            s.settimeout(self.remaining())
            try:
                s.sendall(data, socket.MSG_NOSIGNAL) if hasattr(socket, "MSG_NOSIGNAL") else s.sendall(data)
            finally:
                s.settimeout(None)
            return f"sent {len(data)}"
        if op in ("recv", "recv-until-eof"):
            s = self.sock(step["sock"])
            want = step["bytes"] if op == "recv" else None
            got = 0
            s.settimeout(self.remaining())
            try:
                while want is None or got < want:
                    try:
                        chunk = s.recv(65536 if want is None else want - got)
                    except OSError as error:
                        if got > 0 and op == "recv" and not isinstance(error, socket.timeout):
                            self.pending_error[step["sock"]] = error.errno
                            return f"recv {got}"
                        raise
                    if not chunk:
                        return f"recv {got}" if op == "recv" and got > 0 else "eof"
                    got += len(chunk)
            finally:
                s.settimeout(None)
            return f"recv {got}"
        if op == "shutdown":
            how = {"SHUT_RD": socket.SHUT_RD, "SHUT_WR": socket.SHUT_WR, "SHUT_RDWR": socket.SHUT_RDWR}[step["how"]]
            self.sock(step["sock"]).shutdown(how)
            return "ok"
        if op == "close":
            s = self.socks.pop(step["sock"], None)
            if s is None:
                raise OSError(errno.EBADF, "no such socket")
            s.close()
            return "ok"
        if op == "sleep":
            # Relative, as a program's sleep is: lateness before it carries over, none is made up.
            time.sleep(step["us"] / 1_000_000)
            return "ok"
        if op == "sleep-until":
            self.sleep_until(step["atUs"])
            return "ok"
        raise OSError(errno.EOPNOTSUPP, f"{op} cannot be done on a real kernel")


def ss_states(ips):
    """Every TCP socket of the namespace, with its timer: `ss -tanoH`."""
    out = run(["ss", "-tanoH"], check=False)
    sockets = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        state, local, peer = parts[0], parts[3], parts[4]
        timer = ""
        for part in parts[5:]:
            if part.startswith("timer:("):
                timer = part
        sockets.append({"state": state, "local": local, "peer": peer, "timer": timer})
    return sockets


def main():
    plan_path, result_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    result = {"calls": [], "sysctls": {}, "errors": [], "ss": [], "notes": []}
    result["kernel"] = os.uname().release
    tcpdump = None
    try:
        run(["ip", "link", "set", "lo", "up"])
        run(["ip", "link", "set", "lo", "mtu", str(plan.get("loMtu", 1500))])
        # No segmentation offload: segments on the capture are the MSS-sized ones a NIC would send.
        run(["ip", "link", "set", "lo", "gso_max_segs", "1"], check=False)
        for ip in sorted(set(plan["ips"].values())):
            run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"])
        for name, value in plan.get("sysctls", {}).items():
            path = "/proc/sys/" + name.replace(".", "/")
            with open(path, "w") as f:
                f.write(str(value))
        for name in plan.get("readSysctls", []):
            with open("/proc/sys/" + name.replace(".", "/")) as f:
                result["sysctls"][name] = " ".join(f.read().split())
        if plan.get("nft"):
            proc = subprocess.run(["nft", "-f", "-"], input=plan["nft"], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if proc.returncode != 0:
                raise RuntimeError(f"nft failed: {proc.stderr.strip()}")
        tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "0", "-w", plan["capture"], "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on lo" once its socket is open: nothing is missed after that.
        line = tcpdump.stderr.readline()
        if "listening" not in line:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
        threading.Thread(target=lambda: tcpdump.stderr.read(), daemon=True).start()

        lock = threading.Lock()
        plan["order"] = CallOrder(plan.get("simCalls", 0))
        clock = {"t0": 0.0, "deadline": 0.0}
        hosts = [Host(spec, plan, clock, result["calls"], lock) for spec in plan["hosts"]]
        # Time zero once every host thread is running, 20 ms ahead: thread start-up is no part of the run.
        ready = threading.Barrier(len(hosts) + 1)
        for host in hosts:
            host.ready = ready
            host.start()
        ready.wait()
        clock["t0"] = time.monotonic() + 0.02
        result["t0RealtimeUs"] = time.time_ns() // 1000 + 20_000
        clock["deadline"] = clock["t0"] + plan["deadlineMs"] / 1000
        ready.wait()
        for host in hosts:
            host.join(max(0.0, clock["deadline"] - time.monotonic()) + 0.5)
        # Quiet: no packet for settleMs (the capture file stops growing), or the deadline.
        settle = plan.get("settleMs", 1000) / 1000
        last_size, quiet_since = -1, time.monotonic()
        while time.monotonic() < clock["deadline"] + settle:
            size = os.path.getsize(plan["capture"]) if os.path.exists(plan["capture"]) else 0
            if size != last_size:
                last_size, quiet_since = size, time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                break
            time.sleep(0.05)
        result["ssAtUs"] = int((time.monotonic() - clock["t0"]) * 1_000_000)
        result["ss"] = ss_states(plan["ips"])
        result["unfinished"] = [h.spec["name"] for h in hosts if not h.finished and h.spec.get("script")]
    except Exception as error:  # reported to the caller, which exits 2 with it
        result["errors"].append(str(error))
    finally:
        if tcpdump is not None:
            tcpdump.send_signal(signal.SIGINT)
            try:
                tcpdump.wait(5)
            except subprocess.TimeoutExpired:
                tcpdump.kill()
    result["stoppedAtUs"] = int((time.monotonic() - clock["t0"]) * 1_000_000) if "clock" in dir() else 0
    result["calls"].sort(key=lambda c: (c["atUs"], c["host"], c["step"]))
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
