#!/usr/bin/env python3
"""Time from a handler file landing (atomic rename) in a running `pilot serve`'s
handlers directory to its `active` state in /v1/handlers, and to its running
optimized (Cranelift) code.

Usage: python3 scripts/measure-hot-load.py REPO FILE.wasm NAME cold|warm
  cold: a fresh compiled-code cache (the first load of this build);
  warm: the machine's cache (a restart, or a file seen before).
Needs `make components` and a release `pilot`. Standard library only.
"""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.request
root = sys.argv[1]; src = sys.argv[2]; name = sys.argv[3]; cache_cold = sys.argv[4] == "cold"
work = tempfile.mkdtemp()
handlers = os.path.join(work, "handlers"); os.makedirs(handlers)
for f in os.listdir(os.path.join(root, "target/components/handlers")):
    if f.startswith("summarize"): shutil.copy(os.path.join(root, "target/components/handlers", f), handlers)
env = dict(os.environ, PILOT_TOKEN="t", PILOT_DB=os.path.join(work, "p.db"), PILOT_COMPONENTS=os.path.join(root, "target/components"), PILOT_HANDLERS=handlers)
if cache_cold: env["XDG_CACHE_HOME"] = os.path.join(work, "cache"); env["HOME"] = work
p = subprocess.Popen([os.path.join(root, "target/release/pilot"), "serve", "--listen", "127.0.0.1:8799"], env=env, stderr=subprocess.DEVNULL)
def handlers_list():
    r = urllib.request.Request("http://127.0.0.1:8799/v1/handlers", headers={"Authorization": "Bearer t"})
    return json.load(urllib.request.urlopen(r, timeout=2))
for _ in range(200):
    try: handlers_list(); break
    except Exception: time.sleep(0.05)
staging = os.path.join(handlers, name + ".staging")
shutil.copy(src, staging)
t0 = time.monotonic(); os.rename(staging, os.path.join(handlers, name + ".wasm"))
while True:
    listed = [h for h in handlers_list() if h.get("name") == name or name in h.get("file", "")]
    if any(h.get("state") == "active" for h in listed): break
    rejected = [h for h in listed if h.get("state") == "rejected"]
    if rejected or time.monotonic() - t0 > 60:
        p.terminate(); p.wait(); shutil.rmtree(work)
        sys.exit(f"{name}: not active: {rejected or 'timed out after 60 s'}")
    time.sleep(0.005)
active_ms = 1000*(time.monotonic()-t0)
code = next(h for h in listed if h.get("state") == "active").get("code")
while code != "optimized" and time.monotonic() - t0 < 120:
    time.sleep(0.02)
    code = next((h.get("code") for h in handlers_list() if h.get("name") == name or name in h.get("file", "")), code)
optimized = f", on optimized code {1000*(time.monotonic()-t0):.0f} ms" if code == "optimized" else ", not optimized after 120 s"
print(f"{name}: active {active_ms:.0f} ms after the file landed on {listed[0].get('code', '?')} code{optimized} ({'cold' if cache_cold else 'warm'} compile cache)")
p.terminate(); p.wait()
shutil.rmtree(work)
