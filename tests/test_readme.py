"""Every Python snippet of the README is run as written by a test (tests/readme.py says which)."""

from readme import README, RUN_BY, snippets


def test_every_readme_snippet_has_a_test_that_runs_it():
    found = snippets()
    assert set(found) == set(RUN_BY), "a README snippet with no test, or a test's snippet gone: see tests/readme.py"
    for heading, test in RUN_BY.items():
        path, name = test.split("::")
        assert f"def {name}(" in (README.parent / path).read_text(encoding="utf-8"), f"{heading}: {test} is missing"
