"""Type-checks Python users' code with pyright against the generated bindings.

Checked: every ```python block of README.md and the example app examples/python/app.py; both must
have no problem. Then each snippet in test/python-typecheck/mistakes/ must fail, on the line
marked `# expect: <pyright rule>` and for that rule, with no other problem in the snippet: the
check is shown to catch each kind of mistake.

A README block (and a mistake snippet) runs in a function whose parameters declare the names the
block uses without defining them (`self`, `pipeline`, ...; see DECLARED), and pyright's findings
point at README lines.

Needs node_modules (pyright, jsii-pacmak, aws-cdk-lib, constructs) and the library's bindings in
dist/python-src (`npx jsii-pacmak --target python --code-only --outdir dist/python-src`).

usage: python3 .ci/python-typecheck/check.py
"""
import builtins
import json
import os
import re
import shutil
import subprocess
import symtable
import sys
import textwrap
import time
from pathlib import Path

import bindings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# aws-cdk-lib's generated bindings take about a minute of CPU: kept for every clone on this machine.
BINDINGS_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cdk-pipeline-stages" / "python-typecheck"
LIBRARY_SOURCES = ROOT / "dist/python-src/python/src"
README = ROOT / "README.md"
EXAMPLE_APP = ROOT / "examples/python/app.py"
MISTAKES = ROOT / "test/python-typecheck/mistakes"

# The names a README example may use without defining them, and their types.
DECLARED = {
    "self": "aws_cdk.Stack",
    "pipeline": "aws_cdk.aws_codepipeline.Pipeline",
    "source_output": "aws_cdk.aws_codepipeline.Artifact",
    "repository": "aws_cdk.aws_codecommit.IRepository",
    "staging": "aws_cdk.Stage",
}

EXPECT = re.compile(r"#\s*expect:\s*(\w+)")


class Snippet:
    """A README block or a mistake snippet, wrapped into a module that pyright checks."""

    def __init__(self, origin, first_line, source):
        self.origin, self.first_line = origin, first_line
        self.source = source if source.endswith("\n") else source + "\n"
        self.header_lines = 0
        self.syntax_error = None

    def wrapped(self):
        try:
            names = sorted(free_names(self.source) & DECLARED.keys())
        except SyntaxError as err:  # reported as it is; pyright would add findings about the undeclared names
            self.syntax_error = f"{self.origin}:{self.first_line + (err.lineno or 1) - 1}:{err.offset or 1}: error: {err.msg} (syntax)"
            return "pass\n"
        header = [f"# {self.origin}, line {self.first_line} (wrapped by .ci/python-typecheck/check.py)"]
        params = []
        for i, name in enumerate(names):
            module, _, type_name = DECLARED[name].rpartition(".")
            header.append(f"import {module} as _declared_{i}")
            params.append(f"{name}: _declared_{i}.{type_name}")
        header.append(f"def example({', '.join(params)}) -> None:")
        self.header_lines = len(header)
        return "\n".join(header) + "\n" + textwrap.indent(self.source, "    ", lambda line: True) + "    pass\n"

    def where(self, diagnostic):
        """README (or snippet) position of a pyright finding in the wrapped module."""
        line, column = diagnostic["range"]["start"]["line"], diagnostic["range"]["start"]["character"]
        if line < self.header_lines:
            return f"{self.origin}:{self.first_line}"
        return f"{self.origin}:{self.first_line + line - self.header_lines}:{max(column - 4, 0) + 1}"


def free_names(source):
    """Names the code reads that no statement of it defines, other than builtins."""
    module = symtable.symtable(source, "<example>", "exec")
    defined = {s.get_name() for s in module.get_symbols() if s.is_assigned() or s.is_imported()}
    read = set()

    def visit(table, top):
        for s in table.get_symbols():
            if s.is_referenced() and (top or s.is_global()):
                read.add(s.get_name())
        for child in table.get_children():
            visit(child, False)

    visit(module, True)
    return read - defined - set(dir(builtins))


def readme_blocks(text):
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, match.start()) + 2, match.group(1)


def rel(path):
    return str(Path(path).resolve().relative_to(ROOT))


def python_version():
    """The oldest Python the package supports (setup.py's python_requires)."""
    setup = (LIBRARY_SOURCES.parent / "setup.py").read_text(encoding="utf8")
    return re.search(r'"python_requires": ">=(\d+\.\d+)"', setup).group(1)


def run_pyright(run_dir, files, extra_paths):
    config = {
        "include": [os.path.relpath(f, run_dir) for f in files],  # pyright ignores absolute ones
        "extraPaths": [str(p) for p in extra_paths],
        "stubPath": str(HERE / "stubs"),
        "pythonVersion": python_version(),
        "typeCheckingMode": "standard",
        "enableTypeIgnoreComments": False,  # an example cannot silence a finding
        "reportMissingModuleSource": "none",  # jsii and publication are stubs without sources
    }
    (run_dir / "pyrightconfig.json").write_text(json.dumps(config, indent=2))
    result = subprocess.run(["npx", "pyright", "--outputjson", "-p", str(run_dir / "pyrightconfig.json")],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"pyright failed (exit {result.returncode}): {result.stderr.strip() or result.stdout[-2000:]}")
    report = json.loads(result.stdout)
    analyzed = report["summary"]["filesAnalyzed"]
    if analyzed != len(files):
        sys.exit(f"pyright analyzed {analyzed} files, expected {len(files)}")
    by_file = {Path(f).resolve(): [] for f in files}
    for d in report["generalDiagnostics"]:
        if d["severity"] in ("error", "warning"):
            path = Path(d["file"]).resolve()
            if path not in by_file:
                sys.exit(f"pyright reported on a file it was not asked to check: {d['file']}")
            by_file[path].append(d)
    return by_file


def describe(d, where):
    message = d["message"].splitlines()[0]
    if d.get("rule") == "reportUndefinedVariable":
        message += f" (names the README's examples share without defining them are in DECLARED in {rel(Path(__file__))})"
    return f"{where}: {d['severity']}: {message} ({d.get('rule', 'syntax')})"


def main():
    started = time.monotonic()
    sys.stdout.reconfigure(line_buffering=True)  # in order with jsii-pacmak's output in CI's log
    os.chdir(ROOT)
    if not (LIBRARY_SOURCES / "cdk_pipeline_stages").is_dir():
        sys.exit(f"no bindings in {rel(LIBRARY_SOURCES)}: run jsii-pacmak first (see the usage in {rel(Path(__file__))})")
    dependencies, cached = bindings.dependency_bindings(BINDINGS_CACHE)
    print(f"aws-cdk-lib and constructs bindings: {'cached' if cached else 'generated'} "
          f"({dependencies.name}), {time.monotonic() - started:.0f} s")

    run_dir = ROOT / ".python-typecheck-cache" / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    library = run_dir / "library"
    bindings.copy_package_sources(LIBRARY_SOURCES, library)

    readme = [Snippet("README.md", line, source) for line, source in readme_blocks(README.read_text(encoding="utf8"))]
    mistakes = [Snippet(rel(path), 1, path.read_text(encoding="utf8")) for path in sorted(MISTAKES.glob("*.py"))]
    snippet_files = {}
    for i, snippet in enumerate(readme + mistakes):
        path = run_dir / "snippets" / f"snippet_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(snippet.wrapped(), encoding="utf8")
        snippet_files[snippet] = path.resolve()

    checked_at = time.monotonic()
    found = run_pyright(run_dir, [EXAMPLE_APP, *snippet_files.values()], [library, dependencies])
    print(f"pyright: {len(found)} files in {time.monotonic() - checked_at:.0f} s")

    failures = []
    for snippet in readme:
        failures += [snippet.syntax_error] if snippet.syntax_error else []
        failures += [describe(d, snippet.where(d)) for d in found[snippet_files[snippet]]]
    for d in found[EXAMPLE_APP.resolve()]:
        start = d["range"]["start"]
        failures.append(describe(d, f"{rel(EXAMPLE_APP)}:{start['line'] + 1}:{start['character'] + 1}"))
    if not readme:
        failures.append("README.md has no ```python block")
    print(f"README.md ({len(readme)} Python examples) and {rel(EXAMPLE_APP)}: {len(failures)} problems")

    caught = 0
    for snippet in mistakes:
        ok, outcome = check_mistake(snippet, found[snippet_files[snippet]])
        caught += ok
        print(f"  caught: {outcome}" if ok else outcome)
        if not ok:
            failures.append(f"{snippet.origin}: mistake not caught")
    if not mistakes:
        failures.append(f"no mistake snippets in {rel(MISTAKES)}")
    print(f"mistakes: {caught} of {len(mistakes)} caught")

    for failure in failures:
        print(failure)
    print(f"python type check: {len(failures)} problems, {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


def check_mistake(snippet, diagnostics):
    """(True, the finding) if the snippet fails on its `# expect:` line for that rule and nowhere else,
    else (False, why not)."""
    expected = [(n, m.group(1)) for n, line in enumerate(snippet.source.splitlines(), 1) if (m := EXPECT.search(line))]
    if len(expected) != 1:
        return False, f"{snippet.origin}: needs exactly one `# expect: <pyright rule>` line"
    line, rule = expected[0]
    if snippet.syntax_error:
        return False, snippet.syntax_error
    hits, others = [], []
    for d in diagnostics:
        where = snippet.where(d)
        hit = where.startswith(f"{snippet.origin}:{line}:") and d.get("rule") == rule
        (hits if hit else others).append(describe(d, where))
    if not hits:
        return False, f"{snippet.origin}:{line}: mistake NOT caught: expected {rule} on this line" + \
            "".join(f"\n  got {o}" for o in others)
    if others:
        return False, f"{snippet.origin}: besides its mistake, the snippet has other problems:" + \
            "".join(f"\n  {o}" for o in others)
    return True, hits[0]


if __name__ == "__main__":
    sys.exit(main())
