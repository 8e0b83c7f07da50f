#!/usr/bin/python3
"""Check tests/unit/template_cases.json against ansible-core's Jinja2 environment.

A dev tool, not run by CI: it renders every case with jinja2 plus Ansible's own filters
and tests (StrictUndefined, None finalised to '', trailing newline kept, as Ansible's
templating does) and reports where the expected output in the case file disagrees.

  /usr/bin/python3 tests/unit/template_oracle.py            # check
  /usr/bin/python3 tests/unit/template_oracle.py --fill     # write "out" where missing

Cases with "differs" (a reason we deliberately differ from Ansible) are not compared;
"err" cases are checked to fail in the oracle too.
"""
import json
import os
import sys

import jinja2
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.mathstuff import FilterModule as MathFilters
from ansible.plugins.filter.urls import FilterModule as UrlFilters
from ansible.plugins.test.core import TestModule as CoreTests
from ansible.plugins.test.mathstuff import TestModule as MathTests

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "template_cases.json")


def finalize(v):
    return "" if v is None else v


def render(case):
    opts = case.get("opts", {})
    templates = case.get("templates", {})
    env = jinja2.Environment(
        undefined=jinja2.ChainableUndefined if opts.get("lenient") else jinja2.StrictUndefined,
        finalize=finalize,
        trim_blocks=opts.get("trim_blocks", False),
        lstrip_blocks=opts.get("lstrip_blocks", False),
        autoescape=opts.get("autoescape", False),
        keep_trailing_newline=True,
        loader=jinja2.DictLoader(templates),
        extensions=["jinja2.ext.loopcontrols"],
    )
    for mod in (CoreFilters, MathFilters, UrlFilters):
        env.filters.update(mod().filters())
    for mod in (CoreTests, MathTests):
        env.tests.update(mod().tests())
    if opts.get("lenient"):
        env.undefined = jinja2.Undefined
    t = env.from_string(case["t"])
    t.name = case.get("name", "case")
    return t.render(case.get("vars", {}))


def main():
    fill = "--fill" in sys.argv
    cases = json.load(open(CASES))
    bad = 0
    for c in cases:
        try:
            got, err = render(c), None
        except Exception as e:  # noqa: BLE001 - any oracle failure is the answer
            got, err = None, "%s: %s" % (type(e).__name__, e)
        if "differs" in c:
            continue
        if "err" in c:
            if err is None:
                bad += 1
                print("MISMATCH %s: expected an error, oracle gives %r" % (c["name"], got))
            continue
        if "out" not in c and fill:
            if err is None:
                c["out"] = got
            else:
                print("ORACLE ERROR %s: %s" % (c["name"], err))
            continue
        if err is not None or got != c.get("out"):
            bad += 1
            print("MISMATCH %s: expected %r, oracle gives %r" % (c["name"], c.get("out"), err or got))
    if fill:
        with open(CASES, "w") as f:
            json.dump(cases, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print("%d cases, %d mismatches" % (len(cases), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
