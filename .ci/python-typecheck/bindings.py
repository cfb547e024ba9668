"""The Python bindings that pyright reads: a type-check-only copy of jsii-pacmak's output.

aws-cdk-lib's and constructs' bindings are generated from the npm packages in node_modules and
cached outside the clone (see check.py), keyed by their versions, jsii-pacmak's version and this
file's code. The library's own bindings are copied from dist/python-src on every run. Two
generator gaps are closed in the copy (what ships is never changed):

- a class names its interfaces only in `@jsii.implements(...)`, and several of its methods name
  their parameters differently from the interface's, so pyright does not see e.g.
  `codepipeline.Pipeline` as an `IPipeline`. The copy adds the interfaces as explicit bases;
- `typing.Sequence[str]` accepts a str. The copy uses `_typecheck_only.NonStrSequence` (in stubs/)
  for every `typing.Sequence`, which a str does not match.
"""
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# `@jsii.implements(A, B)` above a class whose header (on one line or several) has `metaclass=...`:
# the interfaces are inserted in front of `metaclass=`, after the class's own base.
IMPLEMENTS = re.compile(
    r"^@jsii\.implements\((?P<interfaces>[^\n]*)\)\n"
    r"(?P<header>class \w+\((?:[^\n]*?|(?:\n    (?!metaclass=)[^\n]*)*\n    ))metaclass=",
    re.M,
)
IMPORT_TYPING = re.compile(r"^import typing$", re.M)


def close_generator_gaps(source, where):
    """The type-check-only version of one generated module."""
    # The module's docstring (the package's README, unindented) may hold Python examples.
    docstring_end = source.index("\n'''\n") + 5 if source.startswith("r'''") else 0
    docstring, code = source[:docstring_end], source[docstring_end:]
    expected = len(re.findall(r"^@jsii\.implements\(", code, re.M))
    code, replaced = IMPLEMENTS.subn(lambda m: f"{m[0][:-len('metaclass=')]}{m['interfaces']}, metaclass=", code)
    if replaced != expected:
        raise RuntimeError(f"{where}: {expected} @jsii.implements classes, but {replaced} have the expected header")
    if "typing.Sequence[" in code:
        code, imported = IMPORT_TYPING.subn("import typing; import _typecheck_only", code, count=1)
        if not imported:
            raise RuntimeError(f"{where}: uses typing.Sequence but has no `import typing` line")
        code = code.replace("typing.Sequence[", "_typecheck_only.NonStrSequence[")
    return docstring + code


def copy_package_sources(src_root, dest_root):
    """Copies the Python packages under src_root (pacmak's python/src) with the gaps closed."""
    count = 0
    for path in sorted(Path(src_root).rglob("*")):
        if path.is_dir() or path.suffix not in (".py", ".typed"):
            continue
        target = Path(dest_root) / path.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            target.write_text(close_generator_gaps(path.read_text(encoding="utf8"), path), encoding="utf8")
            count += 1
        else:
            shutil.copyfile(path, target)
    if count == 0:
        raise RuntimeError(f"no Python sources under {src_root}")
    return count


def pacmak(package_dir, outdir):
    subprocess.run(
        ["npx", "jsii-pacmak", "--target", "python", "--code-only", "--outdir", str(outdir), str(package_dir)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return Path(outdir) / "python" / "src"


def package_version(name):
    with open(Path("node_modules") / name / "package.json", encoding="utf8") as f:
        return json.load(f)["version"]


def dependency_bindings(cache_root, packages=("aws-cdk-lib", "constructs")):
    """A folder with the type-check copy of the dependencies' bindings, generated when not cached.

    cache_root may be shared by several clones (and runs at the same time): a folder is built
    under a temporary name and renamed when complete, and is never changed after."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # how the copy is made
    key = "-".join(f"{name}@{package_version(name)}" for name in packages + ("jsii-pacmak",))
    folder = Path(cache_root) / f"{key}-{code}"
    if (folder / "complete").exists():
        return folder, True
    Path(cache_root).mkdir(parents=True, exist_ok=True)
    for older in Path(cache_root).glob(f"{packages[0]}@*"):  # each is about 200 MB
        shutil.rmtree(older, ignore_errors=True)
    building = Path(tempfile.mkdtemp(dir=cache_root, prefix="building-"))
    try:
        for name in packages:
            src = pacmak(Path("node_modules") / name, building / "pacmak" / name)
            copy_package_sources(src, building / "bindings")
        (building / "bindings" / "complete").write_text(key + "\n")
        try:
            (building / "bindings").rename(folder)
        except OSError:  # another run built the same folder first
            if not (folder / "complete").exists():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder, False

