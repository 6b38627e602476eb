"""``python -m pydl.lab``: see pydl.lab.cli."""
from pydl.lab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
