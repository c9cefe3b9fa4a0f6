"""Every rule and alert code DOMAIN.md names has exactly one defining place: a refusal
function named after the code in a `rules` module, or an alert module named after it
in domain/compliance/rules/. Found by reading the real modules (ast), not a list."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import domain
from domain.compliance import rules as alert_rules
from domain.compliance.monitor import WATCHED
from domain.errors import RULES, Rule

DOMAIN_MD = Path(__file__).resolve().parents[2].parent / "shared" / "DOMAIN.md"
DOMAIN_DIR = Path(domain.__file__).parent

# Codes DOMAIN.md names that the ledger does not enforce yet; each leaves this set the
# day it gets its defining place.
NOT_YET_ENFORCED = {
    "payout-late",  # no issue yet: a positive statement unpaid after the 5th
}


def named_codes() -> set[str]:
    """Every backticked code of DOMAIN.md: those of "A command refused is a clear
    answer" (refusals and alerts) and those the default policy's table names."""
    return set(re.findall(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`", DOMAIN_MD.read_text()))


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(DOMAIN_DIR.parent).with_suffix("").parts): path
        for path in DOMAIN_DIR.rglob("*.py")
    }


def _is_rules_module(name: str) -> bool:
    parts = name.split(".")
    return parts[-1] == "rules" or "rules" in parts[:-1]


def _refused_rule(call: ast.Call) -> str | None:
    """The code of a `Refused(Rule.X, ...)` call; '?' when the code is not a Rule member."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "Refused"):
        return None
    first = call.args[0] if call.args else None
    if (
        isinstance(first, ast.Attribute)
        and isinstance(first.value, ast.Name)
        and first.value.id == "Rule"
    ):
        return str(Rule[first.attr])
    return "?"


def refusal_places() -> dict[str, list[str]]:
    """code -> "module.function" of every Refused(...) built anywhere in domain/."""
    places: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for top in ast.parse(path.read_text()).body:
            functions = [top] if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef) else []
            if isinstance(top, ast.ClassDef):
                functions = [f for f in top.body if isinstance(f, ast.FunctionDef)]
            for function in functions:
                for node in ast.walk(function):
                    code = _refused_rule(node) if isinstance(node, ast.Call) else None
                    if code is not None:
                        places.setdefault(code, []).append(f"{name}.{function.name}")
    return places


def alert_modules() -> dict[str, str]:
    """code -> module of every alert rule module in domain/compliance/rules/."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(alert_rules.__path__):
        module = importlib.import_module(f"{alert_rules.__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if rule is not None:
            assert rule not in found, f"{rule} has two modules"
            found[str(rule)] = module.__name__
    return found


def defining_places() -> dict[str, set[str]]:
    places: dict[str, set[str]] = {}
    for code, where in refusal_places().items():
        places.setdefault(code, set()).update(where)
    for code, module in alert_modules().items():
        places.setdefault(code, set()).add(module)
    return places


def test_every_code_domain_md_names_has_exactly_one_defining_place() -> None:
    places = defining_places()
    enforced = named_codes() - NOT_YET_ENFORCED
    assert len(enforced) >= 30  # the file was read, its codes found
    wrong = {code: places.get(code, set()) for code in enforced}
    assert {code: where for code, where in wrong.items() if len(where) != 1} == {}


def test_the_defining_place_is_named_after_its_code() -> None:
    for code, [place] in ((c, sorted(p)) for c, p in defining_places().items()):
        module, _, function = place.rpartition(".")
        python_name = code.replace("-", "_")
        if code in RULES:  # a refusal: a function of a rules module
            assert (function, _is_rules_module(module)) == (python_name, True), place
        else:  # an alert: its own module
            assert place == f"{alert_rules.__name__}.{python_name}", place


def test_every_refusal_is_built_in_its_rules_function_with_a_rule_member() -> None:
    places = refusal_places()
    assert "?" not in places, places.get("?")  # a code as a bare string
    assert set(places) == set(RULES)  # every code refused somewhere, and only codes of Rule


def test_every_alert_code_has_its_module_and_the_monitor_feeds_what_it_watches() -> None:
    found = alert_modules()
    assert set(found) == {str(rule) for rule in Rule} - set(RULES) - {Rule.MALFORMED}
    for module in found.values():
        watches = set(importlib.import_module(module).WATCHES)
        assert watches <= WATCHED, (module, watches - WATCHED)


def test_codes_not_yet_enforced_are_named_by_domain_md_and_have_no_place_yet() -> None:
    assert named_codes() >= NOT_YET_ENFORCED
    assert NOT_YET_ENFORCED.isdisjoint(defining_places())
    assert NOT_YET_ENFORCED.isdisjoint(str(rule) for rule in Rule)
