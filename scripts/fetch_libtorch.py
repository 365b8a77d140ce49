#!/usr/bin/env python3
"""Unpacks the LibTorch that PyPI's torch wheel carries into a project-local directory.

    fetch_libtorch.py DEST [--cuda] [--version X.Y.Z]

The torch wheel holds a complete LibTorch: headers (torch/include), shared libraries
(torch/lib) and CMake configs (torch/share/cmake). This script downloads the wheel with
`pip download` (the newest one PyPI serves unless --version pins one) and unpacks:

  * CPU (default): the headers, the CMake configs and the libraries a CPU build links
    (libtorch_cpu, libc10 and what they need). The Linux x86_64 wheel is a CUDA build:
    its libtorch_cpu also links the CUDA runtime and CUPTI, so their two small NVIDIA
    wheels (the versions torch pins) are unpacked beside it, where the libraries'
    RPATH ($ORIGIN/../../nvidia/...) finds them.
  * --cuda: every library of the wheel and every NVIDIA wheel torch depends on
    (cuBLAS, cuDNN, NCCL, ...), as `pip install torch` would install them, so that a
    CUDA build links and runs.

Layout: DEST/torch/{include,lib,share}, DEST/nvidia/..., DEST/VERSION ("2.15.0+cu132"),
DEST/KIND ("cpu" or "cuda"). The headers of fmt that the wheel bundles are left out:
sinklab uses Debian's fmt, and the wheel's (a different major version) would shadow it.
DEST is replaced atomically (unpacked beside it, then renamed).

Errors (no network, no such version, a wheel without CMake configs) print one line
and exit with code 2.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile


def fail(msg):
    print(f"setup: error: {msg}", file=sys.stderr)
    sys.exit(2)


def pip_download(reqs, dest, deps):
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", dest] + ([] if deps else ["--no-deps"]) + reqs
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        last = [l for l in r.stderr.strip().splitlines() if l.strip()]
        why = last[-1] if last else f"pip exited with {r.returncode}"
        fail(f"could not download {' '.join(reqs)} from PyPI ({why}); build against another "
             "LibTorch with CMAKE_PREFIX_PATH=/path/to/libtorch bash scripts/build.sh, "
             "or use Debian's with SINKLAB_TORCH=system")


def requirements(whl):
    """Requires-Dist lines of the wheel that apply on Linux (markers dropped)."""
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode()
    out = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req, _, marker = line[len("Requires-Dist:"):].strip().partition(";")
        if "extra ==" in marker:
            continue
        out.append(req.strip())
    return out


def cpu_lib(name):
    # What a CPU build loads: everything but the CUDA/ROCm/XPU side and the Python module.
    skip = ("cuda", "nvshmem", "nvrtc", "python", "hip", "xpu", "libtorch.so", "global_deps", "shm")
    return not any(s in name for s in skip)


def unpack(whl, root, keep):
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir() or not keep(name):
                continue
            target = os.path.join(root, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest")
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--version", default="")
    a = ap.parse_args()
    if a.version and not re.fullmatch(r"\d+(\.\d+){0,2}", a.version):
        fail(f"SINKLAB_TORCH_VERSION={a.version} is not a torch version like 2.15.0")

    dest = os.path.abspath(a.dest)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    dl = tempfile.mkdtemp(prefix="libtorch-dl-", dir=parent)
    stage = tempfile.mkdtemp(prefix="libtorch-new-", dir=parent)
    try:
        pip_download(["torch" + (f"=={a.version}" if a.version else "")], dl, deps=False)
        wheels = glob.glob(os.path.join(dl, "torch-*.whl"))
        if not wheels:
            fail("pip download gave no torch wheel")
        whl = wheels[0]
        with zipfile.ZipFile(whl) as z:
            names = z.namelist()
            if not any(n.startswith("torch/share/cmake/Torch/TorchConfig.cmake") for n in names):
                fail(f"{os.path.basename(whl)} has no torch/share/cmake/Torch (not a full "
                     "LibTorch); point the build at another LibTorch with CMAKE_PREFIX_PATH")
            ver = z.read("torch/version.py").decode()
        m = re.search(r"__version__\s*=\s*'([^']+)'", ver)
        version = m.group(1) if m else "unknown"

        def keep_torch(n):
            if n.startswith("torch/include/"):
                return not n.startswith("torch/include/fmt/")
            if n.startswith("torch/share/cmake/"):
                return True
            if n.startswith("torch/lib/"):
                return a.cuda or cpu_lib(os.path.basename(n))
            return n == "torch/version.py"

        unpack(whl, stage, keep_torch)
        reqs = requirements(whl)
        os.remove(whl)

        # The NVIDIA wheels torch pins: the CUDA runtime and CUPTI for a CPU build
        # (libtorch_cpu links them), all of them for a CUDA build.
        nv = []
        for r in reqs:
            name = re.split(r"[\[<>=~! ]", r, 1)[0].lower()
            if name == "cuda-toolkit":
                if a.cuda:
                    nv.append(r)
                else:
                    pin = r[r.index("]") + 1:] if "]" in r else ""
                    nv.append(f"cuda-toolkit[cudart,cupti]{pin}")
            elif name.startswith("nvidia-") and a.cuda:
                nv.append(r)
        if nv:
            pip_download(nv, dl, deps=True)
            for w in glob.glob(os.path.join(dl, "*.whl")):
                unpack(w, stage, lambda n: n.startswith("nvidia/") and
                       (".so" in os.path.basename(n) or a.cuda))
        with open(os.path.join(stage, "VERSION"), "w") as f:
            f.write(version + "\n")
        with open(os.path.join(stage, "KIND"), "w") as f:
            f.write(("cuda" if a.cuda else "cpu") + "\n")
        if os.path.exists(dest):
            old = dest + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(dest, old)
            os.rename(stage, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(stage, dest)
        print(version)
    finally:
        shutil.rmtree(dl, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    main()
