"""The checks of a stored event, as src/lib/events/validate.ts makes them, from the same
schema.json: what a Kafka record becomes (a row of purchases or join_guild, or a row of _rejected
with its reason). Where JavaScript and Python differ (numbers are doubles, string lengths count
UTF-16 units, how a value is quoted in a reason), this module does what JavaScript does, so that
both engines land the same rows with the same reasons.

Run as a script, it reads JSON lines of {"key": base64|null, "value": base64|null} on stdin and
writes what each becomes on stdout (the cross-engine test feeds both engines the same garbage).
"""

import json
import math
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def utf16_len(s):
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def js_slice(s, n):
    """s.slice(0, n) in UTF-16 code units."""
    if s.isascii() or utf16_len(s) <= n:
        return s[:n] if s.isascii() else s
    return s.encode("utf-16-le", "surrogatepass")[: 2 * n].decode("utf-16-le", "surrogatepass")


def well_formed(s):
    return _SURROGATE.search(s) is None


def js_stringify(s):
    """JSON.stringify of a string: lone surrogates escaped, the rest as json.dumps writes it."""
    out = json.dumps(s, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), out)


def js_number(x):
    """String(x) for a JavaScript number (a double)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # the position of the decimal point relative to the digits' start
    n = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    n += int(exp or 0)
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + body


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(text):
    # JSON.parse reads every number as a double, and knows no NaN or Infinity
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(y, m):
    # as new Date(Date.UTC(y, m, 0)) says it: Date.UTC reads years 0-99 as 1900-1999
    if y < 100:
        y += 1900
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _is_number(v):
    return isinstance(v, float)


class Rules:
    def __init__(self, schema):
        self.schema = schema
        self.version = schema["schema_version"]
        self.join_guild = schema["join_guild"]
        self.suffix = schema["purchase_suffix"]
        self.item = re.compile(schema["patterns"]["item"])
        self.host = re.compile(schema["patterns"]["host"])
        self.timestamp = re.compile(schema["patterns"]["timestamp"])
        self.limits = schema["limits"]
        self.headers = schema["headers"]
        self.reasons = schema["reasons"]
        self.metadata = {
            kind: [(name, self._check(rule), rule["want"]) for name, rule in fields.items()]
            for kind, fields in schema["metadata"].items()
        }

    def reason(self, key, **values):
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), self.reasons[key])

    @staticmethod
    def _check(rule):
        lo = rule.get("min", -math.inf)
        hi = rule.get("max", math.inf)
        kind = rule["type"]
        if kind == "number":
            return lambda v: _is_number(v) and math.isfinite(v) and lo <= v <= hi
        if kind == "integer":
            return lambda v: _is_number(v) and math.isfinite(v) and v.is_integer() and lo <= v <= hi
        if kind == "string":
            if "pattern" in rule:
                pattern = re.compile(rule["pattern"])
                return lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None
            return lambda v: isinstance(v, str) and lo <= utf16_len(v) <= hi and well_formed(v)
        raise ValueError(f"schema.json: unknown field type {kind}")

    def describe(self, v):
        if isinstance(v, str):
            return js_stringify(js_slice(v, 60)) + ("..." if utf16_len(v) > 60 else "")
        if v is None:
            return "null"
        if isinstance(v, list):
            return "an array"
        if isinstance(v, dict):
            return "an object"
        if isinstance(v, bool):
            return "boolean " + ("true" if v else "false")
        return "number " + js_slice(js_number(v), 40)

    def kind_of(self, event_type):
        if event_type == self.join_guild:
            return "join_guild"
        if event_type.endswith(self.suffix) and self.item.fullmatch(event_type[: -len(self.suffix)]):
            return "purchase"
        return None

    def host_problem(self, host):
        if host is None or host == "":
            return self.reason("missing_host")
        if not isinstance(host, str):
            return self.reason("host_not_string")
        if utf16_len(host) > self.limits["host"]:
            return self.reason("host_too_long", max=self.limits["host"])
        if not self.host.fullmatch(host):
            return self.reason("host_pattern")
        return None

    def problem(self, o, missing):
        """storedEventProblem: `missing` stands for undefined (a key the object lacks)."""
        if not isinstance(o, dict):
            return self.reason("not_object"), None
        t = o.get("event_type", missing)
        if not isinstance(t, str):
            return self.reason("no_event_type"), None
        kind = self.kind_of(t)
        if kind is None:
            return self.reason("unknown_event_type", value=js_slice(js_stringify(t), 80)), None
        i = o.get("event_id", missing)
        if not isinstance(i, str) or i == "" or utf16_len(i) > self.limits["event_id"]:
            return self.reason("bad_event_id"), None
        ts = o.get("timestamp", missing)
        if not isinstance(ts, str) or not self.timestamp.fullmatch(ts):
            return self.reason("bad_timestamp"), None
        v = o.get("schema_version", missing)
        if v is not missing and not (_is_number(v) and v == self.version):
            return self.reason("bad_schema_version", value=self.describe(v)), None
        h = self.host_problem(o.get("Host"))
        if h is not None:
            return h, None
        for header in self.headers:
            v = o.get(header, missing)
            if v is missing:
                continue
            if not isinstance(v, str):
                return self.reason("header_not_string", header=header), None
            if utf16_len(v) > self.limits["header"]:
                return self.reason("header_too_long", header=header, max=self.limits["header"]), None
            if not well_formed(v):
                return self.reason("header_not_unicode", header=header), None
        if kind == "purchase":
            item = o.get("item", missing)
            if item is not missing and item != t[: -len(self.suffix)]:
                return self.reason("item_mismatch"), None
        for name, check, want in self.metadata[kind]:
            v = o.get(name)
            if v is not None and not check(v):
                return self.reason("bad_field", field=name, want=want), None
        return None, kind

    def timestamp_ms(self, s):
        """Date.parse of a timestamp the pattern accepted, or None for a time that does not exist."""
        m = self.timestamp.fullmatch(s)
        year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
        frac, sign, oh, om = m.group(7, 8, 9, 10)
        if (
            not 1 <= month <= 12
            or not 1 <= day <= _days_in_month(year, month)
            or hour > 23
            or minute > 59
            or second > 59
            or (sign is not None and (int(oh) > 23 or int(om) > 59))
        ):
            return None
        ms = int((frac or "0")[:3].ljust(3, "0"))
        offset = 0 if sign is None else (1 if sign == "+" else -1) * (int(oh) * 60 + int(om))
        return (
            _days_from_civil(year, month, day) * 86_400_000
            + ((hour * 60 + minute - offset) * 60 + second) * 1000
            + ms
        )

    def row(self, key, value):
        """What a record (its key and value bytes, or None) becomes: a dict of its columns."""
        raw_bytes = value if value is not None else b""
        try:
            text = raw_bytes.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            text = raw_bytes.decode("utf-8", "replace")
            utf8 = False
        why, kind, ts = None, None, None
        missing = object()
        if not utf8:
            why = self.reason("not_utf8")
        else:
            try:
                o = parse_json(text)
            except (ValueError, RecursionError):
                why = self.reason("not_json")
            else:
                why, kind = self.problem(o, missing)
        if why is None:
            ts = self.timestamp_ms(o["timestamp"])
            if ts is None:
                why = self.reason("bad_timestamp")
        if why is not None:
            return {
                "out": "_rejected",
                "key": None if key is None else bytes(key).decode("utf-8", "replace"),
                "reason": why,
                "raw": text,
                "raw_bytes": bytes(raw_bytes),
            }
        row = {
            "out": "join_guild" if kind == "join_guild" else "purchases",
            "event_id": o["event_id"],
            "event_type": o["event_type"],
            "ts_ms": ts,
            "Host": o.get("Host") or "",
            "User-Agent": o.get("User-Agent"),
            "Accept": o.get("Accept"),
            "user_id": o.get("user_id"),
        }
        if kind == "join_guild":
            row["guild_id"] = o.get("guild_id")
            row["guild_name"] = o.get("guild_name")
        else:
            row["item"] = o["event_type"][: -len(self.suffix)]
            row["price"] = o.get("price")
            row["currency"] = o.get("currency")
            q = o.get("quantity")
            row["quantity"] = None if q is None else int(q)
        return row


if __name__ == "__main__":
    import base64
    import sys

    rules = Rules(json.load(open(sys.argv[1], encoding="utf-8")))
    for line in sys.stdin:
        rec = json.loads(line)
        dec = lambda b: None if b is None else base64.b64decode(b)
        row = rules.row(dec(rec["key"]), dec(rec["value"]))
        if "raw_bytes" in row:
            row["raw_bytes"] = base64.b64encode(row["raw_bytes"]).decode("ascii")
        sys.stdout.write(json.dumps(row, ensure_ascii=True) + "\n")
