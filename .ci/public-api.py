#!/usr/bin/env python3
"""The public API of the three library crates, one line per item, checked against the
snapshot in api/<crate>.txt: a change to what other programs compile against (an item
gone, a signature or a field changed, #[non_exhaustive] added or removed, a derive
dropped) fails CI until the snapshot is updated on purpose, so that a break is a
decision, never an accident.

    python3 .ci/public-api.py            # check (CI)
    python3 .ci/public-api.py --update   # accept the current API: commit api/*.txt

It reads rustdoc's JSON (stable rustdoc, RUSTC_BOOTSTRAP=1 for its unstable flag), all
features on: items reachable from each crate's root (re-exports under the name they are
exported as), struct fields, enum variants, inherent methods, trait items, trait
implementations (derives included; auto and blanket ones left out), constants.
"""

import difflib
import json
import os
import subprocess
import sys

CRATES = ["linky-core", "linky-enedis", "linky-domoticz"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAPSHOTS = os.path.join(ROOT, "api")


def rustdoc_json(crate):
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    subprocess.run(
        ["cargo", "rustdoc", "-q", "-p", crate, "--lib", "--all-features", "--",
         "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True,
    )
    path = os.path.join(target, "doc", crate.replace("-", "_") + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Api:
    def __init__(self, doc):
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.lines = set()
        self.seen = set()

    def item(self, id_):
        return self.index.get(str(id_))

    # ---- types ----

    def path(self, p):
        name = p.get("path") or p.get("name") or "?"
        return name + self.args(p.get("args"))

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            ab = args["angle_bracketed"]
            parts = []
            for a in ab.get("args", []):
                if "type" in a:
                    parts.append(self.ty(a["type"]))
                elif "lifetime" in a:
                    parts.append(a["lifetime"])
                elif "const" in a:
                    parts.append(str(a["const"].get("expr", a["const"])))
                else:
                    parts.append(json.dumps(a, sort_keys=True))
            for c in ab.get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding:
                    eq = binding["equality"]
                    value = self.ty(eq["type"]) if "type" in eq else json.dumps(eq, sort_keys=True)
                    parts.append(f"{c['name']} = {value}")
                else:
                    parts.append(f"{c['name']}: {self.bounds(binding.get('constraint', []))}")
            return "<" + ", ".join(parts) + ">" if parts else ""
        if "parenthesized" in args:
            p = args["parenthesized"]
            out = "(" + ", ".join(self.ty(t) for t in p.get("inputs", [])) + ")"
            if p.get("output"):
                out += " -> " + self.ty(p["output"])
            return out
        return json.dumps(args, sort_keys=True)

    def bounds(self, bounds):
        out = []
        for b in bounds:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                modifier = "?" if tb.get("modifier") == "maybe" else ""
                out.append(modifier + self.path(tb["trait"]))
            elif "outlives" in b:
                out.append(b["outlives"])
            elif "use" in b:
                out.append("use<" + ", ".join(
                    x if isinstance(x, str) else next(iter(x.values())) for x in b["use"]) + ">")
            else:
                out.append(json.dumps(b, sort_keys=True))
        return " + ".join(out)

    def ty(self, t):
        if t is None:
            return "()"
        if isinstance(t, str):
            return t
        (kind, v), = t.items()
        if kind == "resolved_path":
            return self.path(v)
        if kind in ("generic", "primitive"):
            return v
        if kind == "borrowed_ref":
            lifetime = (v.get("lifetime") or "") + (" " if v.get("lifetime") else "")
            return "&" + lifetime + ("mut " if v.get("is_mutable") else "") + self.ty(v["type"])
        if kind == "raw_pointer":
            return "*" + ("mut " if v.get("is_mutable") else "const ") + self.ty(v["type"])
        if kind == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ")"
        if kind == "slice":
            return "[" + self.ty(v) + "]"
        if kind == "array":
            return "[" + self.ty(v["type"]) + "; " + str(v["len"]) + "]"
        if kind == "impl_trait":
            return "impl " + self.bounds(v)
        if kind == "dyn_trait":
            traits = " + ".join(self.path(x["trait"]) for x in v.get("traits", []))
            if v.get("lifetime"):
                traits += " + " + v["lifetime"]
            return "dyn " + traits
        if kind == "qualified_path":
            trait = self.path(v["trait"]) if v.get("trait") else "?"
            return f"<{self.ty(v['self_type'])} as {trait}>::{v['name']}"
        if kind == "function_pointer":
            return "fn" + self.sig(v["sig"])
        return json.dumps(t, sort_keys=True)

    def generics(self, g):
        if not g:
            return ""
        params = []
        for p in g.get("params", []):
            kind = p.get("kind", {})
            if "lifetime" in kind:
                params.append(p["name"])
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                b = self.bounds(kind["type"].get("bounds", []))
                params.append(p["name"] + (": " + b if b else ""))
            elif "const" in kind:
                params.append("const " + p["name"] + ": " + self.ty(kind["const"]["type"]))
        out = "<" + ", ".join(params) + ">" if params else ""
        wheres = []
        for w in g.get("where_predicates", []):
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                wheres.append(self.ty(bp["type"]) + ": " + self.bounds(bp.get("bounds", [])))
            elif "lifetime_predicate" in w:
                lp = w["lifetime_predicate"]
                wheres.append(lp["lifetime"] + ": " + " + ".join(lp.get("outlives", [])))
            else:
                wheres.append(json.dumps(w, sort_keys=True))
        if wheres:
            out += " where " + ", ".join(wheres)
        return out

    def sig(self, s):
        # Argument types only: renaming an argument breaks nobody.
        inputs = ", ".join(
            self.self_arg(t) if name == "self" else self.ty(t)
            for name, t in s.get("inputs", [])
        )
        out = "(" + inputs + ")"
        if s.get("output") is not None:
            out += " -> " + self.ty(s["output"])
        return out

    def self_arg(self, t):
        text = self.ty(t)
        return {"Self": "self", "&Self": "&self", "&mut Self": "&mut self"}.get(text, "self: " + text)

    def function(self, prefix, item):
        f = item["inner"]["function"]
        header = f.get("header", {})
        words = [w for w, on in (("const", header.get("is_const")), ("async", header.get("is_async")),
                                  ("unsafe", header.get("is_unsafe"))) if on]
        lead = " ".join(words + ["fn"])
        return f"{lead} {prefix}{item['name']}{self.generics(f.get('generics'))}{self.sig(f['sig'])}"

    # ---- items ----

    def attrs(self, item):
        text = json.dumps(item.get("attrs", []))
        marks = []
        if "non_exhaustive" in text:
            marks.append("#[non_exhaustive]")
        if item.get("deprecation"):
            marks.append("#[deprecated]")
        return (" " + " ".join(marks)) if marks else ""

    def add(self, line):
        self.lines.add(line)

    def module(self, path, item):
        for child in item["inner"]["module"]["items"]:
            self.visit(path, self.item(child))

    def visit(self, path, item, name=None):
        if item is None or item.get("visibility") not in ("public", "default"):
            return
        inner = item["inner"]
        kind = next(iter(inner))
        name = name or item.get("name")
        if kind == "use":
            use = inner["use"]
            target = self.item(use["id"]) if use.get("id") is not None else None
            if use.get("is_glob"):
                if target and "module" in target["inner"]:
                    for child in target["inner"]["module"]["items"]:
                        self.visit(path, self.item(child))
                else:
                    self.add(f"pub use {use['source']}::*")
                return
            if target is None:
                self.add(f"pub use {use['source']} as {path}::{use['name']}")
                return
            self.visit(path, target, use["name"])
            return
        full = f"{path}::{name}"
        key = (full, item["id"])
        if key in self.seen:
            return
        self.seen.add(key)
        if kind == "module":
            self.add(f"mod {full}")
            self.module(full, item)
        elif kind == "struct":
            s = inner["struct"]
            self.add(f"struct {full}{self.generics(s.get('generics'))}{self.attrs(item)}")
            k = s["kind"]
            if "plain" in k:
                for field in k["plain"]["fields"]:
                    f = self.item(field)
                    if f and f.get("visibility") == "public":
                        self.add(f"struct {full} field {f['name']}: {self.ty(f['inner']['struct_field'])}")
            elif "tuple" in k:
                for n, field in enumerate(k["tuple"]):
                    f = self.item(field) if field is not None else None
                    if f and f.get("visibility") == "public":
                        self.add(f"struct {full} field {n}: {self.ty(f['inner']['struct_field'])}")
            self.impls(full, s.get("impls", []))
        elif kind == "enum":
            e = inner["enum"]
            self.add(f"enum {full}{self.generics(e.get('generics'))}{self.attrs(item)}")
            for variant in e["variants"]:
                v = self.item(variant)
                vk = v["inner"]["variant"]["kind"]
                if vk == "plain":
                    fields = ""
                elif "tuple" in vk:
                    fields = "(" + ", ".join(self.ty(self.item(x)["inner"]["struct_field"]) for x in vk["tuple"] if x is not None) + ")"
                else:
                    fields = " { " + ", ".join(
                        self.item(x)["name"] + ": " + self.ty(self.item(x)["inner"]["struct_field"])
                        for x in vk["struct"]["fields"]) + " }"
                self.add(f"enum {full} variant {v['name']}{fields}{self.attrs(v)}")
            self.impls(full, e.get("impls", []))
        elif kind == "function":
            self.add(self.function(f"{path}::", item))
        elif kind == "trait":
            t = inner["trait"]
            self.add(f"trait {full}{self.generics(t.get('generics'))}")
            for member in t.get("items", []):
                m = self.item(member)
                if m is None:
                    continue
                mk = next(iter(m["inner"]))
                if mk == "function":
                    default = " (provided)" if m["inner"]["function"].get("has_body") else ""
                    self.add(f"trait {full} " + self.function("", m) + default)
                else:
                    self.add(f"trait {full} {mk} {m['name']}")
        elif kind in ("constant", "static"):
            v = inner[kind]
            t = v.get("type")
            self.add(f"{kind} {full}: {self.ty(t)}")
        elif kind == "type_alias":
            self.add(f"type {full} = {self.ty(inner['type_alias']['type'])}")
        elif kind in ("macro", "proc_macro"):
            self.add(f"macro {full}")
        else:
            self.add(f"{kind} {full}")

    def impls(self, owner, ids):
        for id_ in ids:
            imp = self.item(id_)
            if imp is None:
                continue
            i = imp["inner"]["impl"]
            if i.get("is_synthetic") or i.get("blanket_impl") is not None:
                continue
            if i.get("trait") is None:
                for member in i.get("items", []):
                    m = self.item(member)
                    if m is None or m.get("visibility") != "public":
                        continue
                    mk = next(iter(m["inner"]))
                    if mk == "function":
                        self.add(f"impl {owner} " + self.function("", m) + self.attrs(m))
                    else:
                        self.add(f"impl {owner} {mk} {m['name']}")
            else:
                negative = "!" if i.get("is_negative") else ""
                self.add(f"impl {negative}{self.path(i['trait'])} for {owner}{self.generics(i.get('generics'))}")


def current(crate):
    doc = rustdoc_json(crate)
    api = Api(doc)
    root = api.item(doc["root"])
    api.module(root["name"], root)
    return "\n".join(sorted(api.lines)) + "\n"


def main():
    update = "--update" in sys.argv[1:]
    failed = False
    os.makedirs(SNAPSHOTS, exist_ok=True)
    for crate in CRATES:
        text = current(crate)
        snapshot = os.path.join(SNAPSHOTS, crate + ".txt")
        if update:
            with open(snapshot, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{crate}: {text.count(chr(10))} items written to api/{crate}.txt")
            continue
        try:
            with open(snapshot, encoding="utf-8") as f:
                before = f.read()
        except FileNotFoundError:
            before = ""
        if before == text:
            print(f"{crate}: public API unchanged ({text.count(chr(10))} items)")
            continue
        failed = True
        diff = difflib.unified_diff(before.splitlines(), text.splitlines(),
                                    f"api/{crate}.txt (snapshot)", f"{crate} (now)", lineterm="", n=0)
        print(f"{crate}: the public API changed:")
        print("\n".join(diff))
    if failed:
        print("\nA removed or changed line breaks programs built on the crates: make it a "
              "decision (a new major version, or keep the old item beside the new one), then "
              "accept the new API with `python3 .ci/public-api.py --update` and commit api/.")
        sys.exit(1)


if __name__ == "__main__":
    main()
