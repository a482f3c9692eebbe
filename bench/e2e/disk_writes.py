#!/usr/bin/env python3
"""bench/e2e/disk_writes.py FILE — appends "unix-time sectors-written" (every disk's, summed;
loop, ram and zram devices left out) to FILE every 250 ms until it is killed. The end-to-end
scripts run it in the background beside a load and turn it into MB written per second."""
import glob
import sys
import time

disks = [d for d in glob.glob("/sys/block/*")
         if not d.split("/")[-1].startswith(("loop", "ram", "zram"))]
with open(sys.argv[1], "w") as out:
    while True:
        written = sum(int(open(d + "/stat").read().split()[6]) for d in disks)
        out.write(f"{time.time():.3f} {written}\n")
        out.flush()
        time.sleep(0.25)
