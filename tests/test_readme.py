"""The README's Python snippets run as written."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows no Python"
    monkeypatch.chdir(tmp_path)  # the tour saves a checkpoint
    exec(compile("import pydl\n" + "\n".join(blocks), "README.md", "exec"), {})
    assert (tmp_path / "mlp.safetensors").exists()
