"""Checks the README's Python examples against the generated Python bindings.

The bindings cannot be imported here (the jsii runtime and aws-cdk-lib's Python packages are not
installed), so each ```python block is parsed instead: it must be valid Python, every name it
imports from cdk_pipeline_stages must exist, and every call of the library's classes and methods
must use parameters they declare.

usage: python3 .ci/check-readme-python.py README.md dist/python-src/python/src/cdk_pipeline_stages/__init__.py
"""
import ast
import re
import sys


def library_signatures(module_source):
    """{class name: {method name: set of parameter names}} of the generated module."""
    classes = {}
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.ClassDef):
            methods = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    args = item.args
                    methods[item.name] = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            classes[node.name] = methods
    return classes


def python_blocks(readme):
    for match in re.finditer(r"^```python\n(.*?)^```", readme, re.S | re.M):
        line = readme.count("\n", 0, match.start()) + 2
        yield line, match.group(1)


def check_block(source, line, classes):
    problems = []
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        return [f"README.md:{line + (err.lineno or 1) - 1}: {err.msg}"]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "cdk_pipeline_stages":
            for alias in node.names:
                if alias.name not in classes:
                    problems.append(f"README.md:{line + node.lineno - 1}: cdk_pipeline_stages has no {alias.name}")
                imported.add(alias.asname or alias.name)
    methods_by_name = {}
    for methods in classes.values():
        for name, params in methods.items():
            methods_by_name.setdefault(name, []).append(params)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"README.md:{line + node.lineno - 1}"
        keywords = {k.arg for k in node.keywords if k.arg}
        func = node.func
        if isinstance(func, ast.Name) and func.id in imported and func.id in classes:
            accepted = classes[func.id].get("__init__", set())
            for k in sorted(keywords - accepted):
                problems.append(f"{where}: {func.id}() takes no parameter {k}")
        elif isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if owner in imported and owner in classes:
                if func.attr not in classes[owner]:
                    problems.append(f"{where}: {owner} has no {func.attr}")
                else:
                    for k in sorted(keywords - classes[owner][func.attr]):
                        problems.append(f"{where}: {owner}.{func.attr}() takes no parameter {k}")
            elif func.attr in methods_by_name and keywords:
                # A method of a library object (e.g. stage.add_to_pipeline): some class must accept these.
                if not any(keywords <= params for params in methods_by_name[func.attr]):
                    problems.append(f"{where}: no {func.attr}() of the library takes {sorted(keywords)}")
    return problems


def main(readme_path, module_path):
    with open(module_path, encoding="utf8") as f:
        classes = library_signatures(f.read())
    with open(readme_path, encoding="utf8") as f:
        readme = f.read()
    blocks = list(python_blocks(readme))
    problems = [p for line, source in blocks for p in check_block(source, line, classes)]
    for p in problems:
        print(p)
    print(f"{len(blocks)} Python examples checked, {len(problems)} problems")
    return 1 if problems or not blocks else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
