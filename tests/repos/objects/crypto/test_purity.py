"""The crypto package is a pure layer: importing all of it loads no Django, Celery or ORM."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_importing_the_package_loads_no_framework():
    code = (
        "import sys\n"
        "import repos.objects.crypto.format, repos.objects.crypto.keys, repos.objects.crypto.reencrypt\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'celery', 'rest_framework'})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
