"""Installs the given PyPI requirements with pip, but only those not already satisfied.

Usage: python3 scripts/pip-ensure.py 'protobuf==4.25.8' numpy gguf
A second run with everything present does nothing and takes well under a second.
"""
import subprocess
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:  # a bare interpreter: pip vendors the same module
    from pip._vendor.packaging.requirements import Requirement


def satisfied(spec: str) -> bool:
    req = Requirement(spec)
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def main() -> int:
    missing = [spec for spec in sys.argv[1:] if not satisfied(spec)]
    if not missing:
        return 0
    print("pip installing: " + " ".join(missing), flush=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", "-q", *missing])


if __name__ == "__main__":
    sys.exit(main())
