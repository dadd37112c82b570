#!/usr/bin/env python3
"""Migration benchmark: hmp against raw loopback TCP and QEMU 7.2, measured in the same run.

Migrates 256 MiB of random RAM (-mem-path) and a 256 MiB random raw disk (-b) over loopback TCP with the bandwidth
limit out of the way, and prints throughput, total time and downtime for each, and the ratios. Run it from the
repository: `bench/migration.py` (it builds hmp in release mode first; `--runs N` repeats and keeps the best).
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_loopback(total):
    """Bytes per second of a plain socket blast over 127.0.0.1: the ceiling for any migration here."""
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    received = [0]

    def sink():
        conn, _ = server.accept()
        buf = bytearray(4 * MIB)
        view = memoryview(buf)
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            received[0] += n
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    client = socket.create_connection(("127.0.0.1", port))
    chunk = os.urandom(4 * MIB)
    start = time.monotonic()
    sent = 0
    while sent < total:
        client.sendall(chunk)
        sent += len(chunk)
    client.close()
    t.join()
    elapsed = time.monotonic() - start
    server.close()
    return received[0] / elapsed


class Monitor:
    """HMP over a unix socket, for hmp and QEMU alike."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buffer = b""
        self.read_prompt()

    def read_prompt(self):
        while not self.buffer.endswith(b"(qemu) "):
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("monitor closed")
            self.buffer += data
        text = self.buffer.decode(errors="replace")
        self.buffer = b""
        return text

    def command(self, line):
        self.sock.sendall(line.encode() + b"\n")
        text = self.read_prompt()[: -len("(qemu) ")]
        # QEMU's monitor echoes the line and redraws it with escapes; keep what follows the last echo.
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "")
        return text


def run_migration(kind, ram_file, disk_file, work, workload=None):
    port = free_port()
    src_mon, dst_mon = os.path.join(work, kind + "-src.sock"), os.path.join(work, kind + "-dst.sock")
    dst_disk = os.path.join(work, kind + "-dst.img")
    with open(dst_disk, "wb") as f:
        f.truncate(os.path.getsize(disk_file))
    if kind == "hmp":
        binary = os.path.join(ROOT, ".build", "release", "hmp")
        common = ["-m", "256"]
        src_args = common + ["-mem-path", ram_file, "-drive", f"file={disk_file},id=drive0"]
        if workload:
            src_args += ["-workload", workload]
        dst_args = common + ["-S", "-incoming", f"tcp:127.0.0.1:{port}", "-drive", f"file={dst_disk},id=drive0"]
    else:
        # QEMU 7.2 aborts block migration of a drive with no device (-M none has no bus), so its reference is a
        # pc machine with the disk on virtio-blk and nothing else; its guest sits in the BIOS.
        binary = shutil.which("qemu-system-x86_64")
        common = ["-M", "pc", "-m", "256", "-display", "none", "-nodefaults"]
        backend = "-object", f"memory-backend-file,id=ram0,size=256M,mem-path={ram_file},share=off"
        src_args = common + list(backend) + ["-machine", "memory-backend=ram0",
                                             "-drive", f"file={disk_file},format=raw,id=drive0,if=none",
                                             "-device", "virtio-blk-pci,drive=drive0"]
        dst_args = common + ["-object", "memory-backend-ram,id=ram0,size=256M", "-machine", "memory-backend=ram0",
                             "-S", "-incoming", f"tcp:127.0.0.1:{port}",
                             "-drive", f"file={dst_disk},format=raw,id=drive0,if=none",
                             "-device", "virtio-blk-pci,drive=drive0"]
    dst = subprocess.Popen([binary] + dst_args + ["-monitor", f"unix:{dst_mon},server=on,wait=off"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    src = subprocess.Popen([binary] + src_args + ["-monitor", f"unix:{src_mon},server=on,wait=off"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dst_monitor, src_monitor = Monitor(dst_mon), Monitor(src_mon)
        src_monitor.command("migrate_set_parameter max-bandwidth 100G")
        src_monitor.command("migrate_set_parameter downtime-limit 300")
        src_monitor.command(f"migrate -d -b tcp:127.0.0.1:{port}")
        while True:
            info = src_monitor.command("info migrate")
            status = re.search(r"Migration status: (\w+)", info)
            if status and status.group(1) in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        # QEMU can report completed a moment before it fills in the times: read them once more.
        time.sleep(0.1)
        info = src_monitor.command("info migrate")
        if status.group(1) != "completed":
            raise RuntimeError(f"{kind} migration ended {status.group(1)}: {info}")
        total = int(re.search(r"total time: (\d+) ms", info).group(1))
        downtime = int(re.search(r"downtime: (\d+) ms", info).group(1))
        rss = rss_beyond_ram(src.pid)
        return {"total_ms": total, "downtime_ms": downtime, "rss_extra_mib": rss}
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def rss_beyond_ram(pid):
    """Resident memory of the source beyond its 256 MiB of guest RAM, in MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024 - 256
    except OSError:
        pass
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeat each measurement, keeping the best")
    parser.add_argument("--no-build", action="store_true", help="use the existing .build/release/hmp")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="hmp-bench-")
    try:
        ram_file, disk_file = os.path.join(work, "ram.bin"), os.path.join(work, "disk.img")
        for path in (ram_file, disk_file):
            with open(path, "wb") as f:
                for _ in range(256):
                    f.write(os.urandom(MIB))
        payload = 512 * MIB
        raw = max(raw_loopback(payload) for _ in range(args.runs))
        results = {}
        kinds = ["hmp"] + (["qemu"] if shutil.which("qemu-system-x86_64") else [])
        for kind in kinds:
            runs = [run_migration(kind, ram_file, disk_file, work) for _ in range(args.runs)]
            results[kind] = min(runs, key=lambda r: r["total_ms"])
        # The same migration with the guest writing 64 MiB/s of RAM: downtime must stay within downtime-limit.
        busy = [run_migration("hmp", ram_file, disk_file, work, "ram=64M") for _ in range(args.runs)]
        results["hmp busy"] = min(busy, key=lambda r: r["total_ms"])
        print(f"{'':10} {'throughput':>14} {'vs raw':>8} {'total':>9} {'vs QEMU':>8} {'downtime':>9} {'RSS-RAM':>8}")
        print(f"{'raw TCP':10} {raw / MIB:>9.0f} MiB/s {1:>8.2f}")
        for kind, r in results.items():
            throughput = payload / (r["total_ms"] / 1000)
            vs_qemu = r["total_ms"] / max(1, results["qemu"]["total_ms"]) if "qemu" in results else float("nan")
            if kind == "hmp busy":
                kind = "hmp+64M/s"
            print(f"{kind:10} {throughput / MIB:>9.0f} MiB/s {throughput / raw:>8.2f} {r['total_ms']:>6} ms"
                  f" {vs_qemu:>8.2f} {r['downtime_ms']:>6} ms {r['rss_extra_mib']:>5.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
