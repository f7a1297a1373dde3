"""OpenAPI schema a client can be generated from (issue 12): one drf-spectacular postprocessing hook.

What DRF's introspection cannot know is added here, in one place, for every operation:

- `plan` typed from the skill registry: one variant per skill with its parameter JSON schema
  (`RunPlanStep`; simulate's `SimulatePlanStep` also takes unknown skills, reported as unavailable);
- `JsonValue` for free-form JSON: what the request guard (`aosproject/jsonguard.py`) accepts;
- `additionalProperties: false` on request bodies that refuse unknown fields (`StrictSerializer`);
- strings in requests never hold U+0000 (`pattern`), since the guard and PostgreSQL refuse it;
- every error answer with the `ErrorEnvelope` component; tags per area; the `Idempotency-Key`
  header; working request examples; links for stateful clients and fuzzers.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.conf import settings

from aosproject.api import StrictSerializer
from aosproject.jsonguard import MAX_SAFE_INTEGER

NO_NUL = r"^[^\x00]*$"
JSON_VALUE = {"$ref": "#/components/schemas/JsonValue"}
ERROR = {"$ref": "#/components/schemas/ErrorEnvelope"}
IDEMPOTENCY_KEY_MAX = 255

EXAMPLE_PLAN = [
    {"skill": "json_transform", "params": {"payload": {"price": {"usd": 97000}}, "mapping": {"usd": "price.usd"}}},
    {"skill": "llm_invoke", "params": {"messages": [{"role": "user", "content": "BTC at {{ steps[0].output.usd }}"}]}},
]
EXAMPLES = {
    "v1_runtime_simulate_create": {"plan": EXAMPLE_PLAN, "seed": 42, "timestamp": "2025-01-01T00:00:00Z"},
    "v1_runtime_runs_create": {"plan": EXAMPLE_PLAN, "seed": 42, "timestamp": "2025-01-01T00:00:00Z", "wait": True},
    "v1_runtime_replay_create": {"mode": "recorded", "dry_run": True},
    "v1_traces_mismatch_create": {"step_index": 0, "reason": "output_mismatch", "details": {"note": "seen in CI"}},
}

ERROR_TEXT = {
    "400": "Invalid input: `validation_error` (with `fields` naming every problem), `malformed_json`, "
    "`invalid_cursor`.",
    "401": "`not_authenticated`: missing or invalid credentials.",
    "403": "`permission_denied`: the role does not allow this (or a skill is not allowed for the tenant).",
    "404": "`not_found`: no such object in the caller's tenant (another tenant's object is a 404 too).",
    "409": "`conflict` (state does not allow it), or `idempotency_in_progress` (the same Idempotency-Key is "
    "still being served).",
    "413": "`payload_too_large`: the body is above API_MAX_BODY_BYTES.",
    "415": "`unsupported_media_type`: send `Content-Type: application/json`.",
    "422": "`idempotency_key_reused`: the Idempotency-Key was used with another payload.",
    "429": "`rate_limit_exceeded`, with `tier`, `limit` and `retry_after` (also the `Retry-After` header).",
    "502": "`github_error`: GitHub refused or failed the request.",
    "503": "The service it depends on is unavailable (identity provider, or the receiver is not configured).",
}


# --- components -------------------------------------------------------------------------------


def _components() -> dict[str, Any]:
    from runtime.plans import MAX_BACKOFF_MS, MAX_RETRY_ATTEMPTS, ON_ERROR_CHOICES, REPLAY_CHOICES
    from runtime.skills import REGISTRY, skill_ids
    from runtime.skills.llm_invoke import PROVIDERS

    known = skill_ids()
    policy = {
        "replay": {"type": "string", "enum": list(REPLAY_CHOICES), "description": "Replay behaviour of the step."},
        "retry": {
            "type": "object",
            "properties": {
                "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_RETRY_ATTEMPTS},
                "backoff_ms": {"type": "integer", "minimum": 0, "maximum": MAX_BACKOFF_MS},
            },
            "additionalProperties": False,
        },
        "on_error": {"type": "string", "enum": list(ON_ERROR_CHOICES)},
        "fallback": {"$ref": "#/components/schemas/FallbackCall"},
    }

    def call(skill_id: str, *, with_policy: bool) -> dict[str, Any]:
        skill = REGISTRY[skill_id]
        params = _adapt(copy.deepcopy(skill.params_schema))
        provider = params.get("properties", {}).get("provider")
        if skill_id == "llm_invoke" and provider is not None:
            # Providers plug in at run time (PROVIDERS); the schema lists those present when it is built.
            provider.update({"enum": sorted(PROVIDERS)})
            provider.pop("pattern", None)
        properties = {"skill": {"type": "string", "const": skill_id}, "params": params}
        if with_policy:
            properties.update(copy.deepcopy(policy))
        return {
            "type": "object",
            "title": skill_id,
            "description": skill.description,
            "properties": properties,
            "required": ["skill", "params"],
            "additionalProperties": False,
        }

    unknown = {
        "type": "object",
        "title": "unknown skill",
        "description": "A skill the registry does not have: simulate reports it as `skill_unavailable`.",
        "properties": {
            "skill": {"type": "string", "minLength": 1, "pattern": NO_NUL, "not": {"enum": known}},
            "params": {"type": "object", "additionalProperties": JSON_VALUE, "propertyNames": {"pattern": NO_NUL}},
            **copy.deepcopy(policy),
        },
        "required": ["skill"],
        "additionalProperties": False,
    }
    reference_note = (
        " A string param that is exactly `{{ expr }}` is replaced by the JMESPath `expr` evaluated on "
        "`{input, steps}`; `{{ expr }}` inside a longer string interpolates its text."
    )
    return {
        "JsonValue": {
            "description": f"Any JSON value the API can store and hash: numbers within ±{MAX_SAFE_INTEGER} "
            f"(2^53 − 1), no U+0000 in strings or keys, at most API_MAX_JSON_DEPTH "
            f"({settings.API_MAX_JSON_DEPTH}) levels deep.",
            "type": ["object", "array", "string", "number", "boolean", "null"],
            "minimum": -MAX_SAFE_INTEGER,
            "maximum": MAX_SAFE_INTEGER,
            "pattern": NO_NUL,
            "items": JSON_VALUE,
            "additionalProperties": JSON_VALUE,
            "propertyNames": {"pattern": NO_NUL},
        },
        "ErrorEnvelope": {
            "type": "object",
            "description": "Every API error (PRODUCT.md §9). Some codes add keys (`tier`, `limit`, `retry_after`, "
            "`available`, `missing`, `step_index`, ...).",
            "properties": {
                "error": {"type": "string", "description": "A stable code, e.g. `validation_error`."},
                "message": {"type": "string", "description": "Human text; for validation, the first problem."},
                "fields": {
                    "type": "object",
                    "description": "Validation problems by field path (`plan[0].params.url`): a list of messages, "
                    "or nested objects for nested inputs.",
                    "additionalProperties": True,
                },
            },
            "required": ["error", "message"],
            "additionalProperties": True,
        },
        "RunPlanStep": {
            "description": "One step of a plan: a skill call with its params (typed per skill)." + reference_note,
            "oneOf": [{"$ref": f"#/components/schemas/RunPlanStep_{i}"} for i in known],
        },
        "SimulatePlanStep": {
            "description": "A plan step as simulate takes it: a known skill, or an unknown one." + reference_note,
            "oneOf": [*({"$ref": f"#/components/schemas/RunPlanStep_{i}"} for i in known), unknown],
        },
        "FallbackCall": {
            "description": "Runs once after the step's final failure.",
            "oneOf": [call(i, with_policy=False) for i in known],
        },
        **{f"RunPlanStep_{i}": call(i, with_policy=True) for i in known},
    }


def _adapt(schema: Any) -> Any:
    """A skill's params JSON schema as an OpenAPI 3.1 schema of what the API accepts."""
    if not isinstance(schema, dict):
        return schema
    if not ({"type", "enum", "const", "$ref", "oneOf", "anyOf", "allOf"} & set(schema)):
        return {**JSON_VALUE, **({"description": schema["description"]} if "description" in schema else {})}
    for key in ("properties",):
        if key in schema:
            schema[key] = {name: _adapt(sub) for name, sub in schema[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _adapt(schema[key])
    if schema.get("type") == "object":
        schema.setdefault("additionalProperties", JSON_VALUE)
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    _no_nul(schema)
    return schema


def _no_nul(schema: dict[str, Any]) -> None:
    if schema.get("type") != "string" or "enum" in schema or "const" in schema or schema.get("format"):
        return
    if "pattern" not in schema:
        schema["pattern"] = NO_NUL
    elif schema["pattern"] != NO_NUL:
        schema.setdefault("allOf", []).append({"pattern": NO_NUL})


# --- the hook ---------------------------------------------------------------------------------


def _tag(path: str) -> str:
    if path.startswith("/api/v1/runtime/"):
        return "runtime"
    if "mismatch" in path or path.startswith("/api/v1/integrations/github/"):
        return "mismatches"
    if path.startswith("/api/v1/traces"):
        return "traces"
    if path.startswith("/api/v1/alerts/"):
        return "alerts"
    if path.startswith("/api/v1/secrets"):
        return "secrets"
    return "account"


def _strict_request_components() -> set[str]:
    names: set[str] = set()
    stack = list(StrictSerializer.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        base = cls.__name__.removesuffix("Serializer")
        names.update({base, f"{base}Request"})
    return names


def _errors_for(path: str, method: str, operation: dict[str, Any], *, idempotent: bool) -> list[str]:
    has_body = "requestBody" in operation
    codes = ["400"]
    if path == "/api/v1/integrations/github/webhook":
        return ["400", "401", "413", "415"]
    if path == "/api/v1/alerts/webhook":
        return ["400", "401", "413", "415", "503"]
    codes += ["401", "403", "429", "503"]
    if "{" in path or path.endswith("/by-hash"):
        codes.append("404")
    if has_body or method in ("post", "put", "patch"):
        codes += ["413", "415"]
    if idempotent:
        codes += ["409", "422"]
    if method in ("post", "put") and (path.startswith("/api/v1/traces") or "/replay/" in path):
        codes.append("409")
    if path.startswith("/api/v1/mismatch-groups/") and path.endswith("/resolve"):
        codes.append("409")  # already resolved
    if path.endswith("/bulk-report"):
        codes += ["404", "409", "502"]
    return sorted(set(codes))


def _links(operation_id: str) -> dict[str, dict[str, Any]]:
    run_links = {
        "GetRun": {"operationId": "v1_runtime_runs_retrieve", "parameters": {"run_id": "$response.body#/run_id"}},
        "ReplayRun": {"operationId": "v1_runtime_replay_create", "parameters": {"run_id": "$response.body#/run_id"}},
        "GetTrace": {"operationId": "v1_traces_retrieve", "parameters": {"trace_id": "$response.body#/trace_id"}},
        "ReportMismatch": {
            "operationId": "v1_traces_mismatch_create",
            "parameters": {"trace_id": "$response.body#/trace_id"},
        },
    }
    trace_links = {
        "GetTrace": run_links["GetTrace"],
        "ReportMismatch": run_links["ReportMismatch"],
        "ListMismatches": {
            "operationId": "v1_traces_mismatches_list",
            "parameters": {"trace_id": "$response.body#/trace_id"},
        },
        "ReplayTrace": {
            "operationId": "v1_runtime_replay_create",
            "parameters": {"run_id": "$response.body#/trace_id"},
        },
        "GetByHash": {
            "operationId": "v1_traces_by_hash_list",
            "parameters": {"root_hash": "$response.body#/root_hash"},
        },
        "DeleteTrace": {"operationId": "v1_traces_destroy", "parameters": {"trace_id": "$response.body#/trace_id"}},
    }
    return {
        "v1_runtime_runs_create": run_links,
        "v1_traces_create": trace_links,
        "v1_runtime_replay_create": {
            "GetReplay": {
                "operationId": "v1_runtime_runs_retrieve",
                "parameters": {"run_id": "$response.body#/replay_run_id"},
            },
        },
        "v1_traces_mismatch_create": {
            "ResolveMismatch": {
                "operationId": "v1_traces_mismatches_resolve_create",
                "parameters": {
                    "trace_id": "$response.body#/trace_id",
                    "mismatch_id": "$response.body#/mismatch_id",
                },
            },
        },
        "v1_secrets_update": {
            "GetSecret": {"operationId": "v1_secrets_retrieve", "parameters": {"name": "$request.path.name"}},
            "DeleteSecret": {"operationId": "v1_secrets_destroy", "parameters": {"name": "$request.path.name"}},
        },
    }.get(operation_id, {})


def _idempotent_operations(generator) -> set[tuple[str, str]]:
    """(path, method) of views whose handler is wrapped by `aosproject.idempotency.idempotent`."""
    from aosproject.idempotency import idempotent

    wrapper_code = idempotent(lambda self, request: None).__code__  # every wrapper shares this code object
    found = set()
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        handler = getattr(type(view), method.lower(), None)
        if getattr(handler, "__code__", None) is wrapper_code:
            found.add((path, method.lower()))
    return found


def _idempotency_header() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": (
            f"Repeat-safe creation: 1 to {IDEMPOTENCY_KEY_MAX} characters, scoped to the tenant, kept "
            "IDEMPOTENCY_TTL_SECONDS (24 h). A repeat with the same payload gets the stored status and body with "
            "`Idempotent-Replayed: true`; another payload is 422 `idempotency_key_reused`; a repeat while the "
            "first is in flight is 409 `idempotency_in_progress`. Only 2xx/3xx answers are stored."
        ),
        # HTTP strips a header value's surrounding whitespace: what is left must not be empty.
        "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": r"\S"},
    }


def _walk_request_schema(schema: Any) -> None:
    """NUL-free strings everywhere in a request schema (inline parts; components are handled by name)."""
    if isinstance(schema, dict):
        _no_nul(schema)
        for value in schema.values():
            _walk_request_schema(value)
    elif isinstance(schema, list):
        for value in schema:
            _walk_request_schema(value)


def _any_json(schema: Any) -> Any:
    """drf-spectacular renders a nullable JSONField as `oneOf: [{}, {type: null}]` (ambiguous: null matches
    both); every free-form JSON value becomes `JsonValue`, which includes null."""
    if isinstance(schema, dict):
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and len(one_of) == 2 and {} in one_of and {"type": "null"} in one_of:
            rest = {k: v for k, v in schema.items() if k != "oneOf"}
            return {**JSON_VALUE, **rest}
        default, pattern = schema.get("default"), schema.get("pattern")
        if isinstance(default, str) and isinstance(pattern, str) and not re.search(pattern, default):
            # drf-spectacular puts `default: ""` into the non-blank branch of a blank-or-pattern field.
            schema = {k: v for k, v in schema.items() if k != "default"}
        return {k: _any_json(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_any_json(v) for v in schema]
    return schema


def _code_checked_constraints(components: dict[str, Any]) -> None:
    """Rules serializers or services check in code, stated in the schema so generated clients know them."""
    from vault.services import MIN_VALUE_CHARS

    rules = {
        ("SecretInputRequest", "value"): {"minLength": MIN_VALUE_CHARS},
        ("BulkReportInputRequest", "github_issue"): {"const": True, "description": "Only GitHub bulk reports exist."},
        ("WebhookPayloadRequest", "version"): {"enum": ["4"], "description": "Alertmanager's webhook version."},
    }
    for (component, field), rule in rules.items():
        prop = components.get(component, {}).get("properties", {}).get(field)
        if prop is not None:
            prop.update(rule)


def postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    result["components"] = _any_json(result.setdefault("components", {}))
    result["paths"] = _any_json(result.get("paths", {}))
    components = result["components"].setdefault("schemas", {})
    components.update(_components())
    _code_checked_constraints(components)
    strict = _strict_request_components()
    request_components = {name for name in components if name.endswith("Request")}
    for name in request_components:
        if name in strict:
            components[name]["additionalProperties"] = False
        else:  # ignored, but still parsed by the request guard
            components[name].setdefault("additionalProperties", JSON_VALUE)
        _walk_request_schema(components[name])
    for name, plan_step in (("SimulateInputRequest", "SimulatePlanStep"), ("RunInputRequest", "RunPlanStep")):
        if name in components:
            components[name]["properties"]["plan"] = {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.AOS_MAX_PLAN_STEPS,
                "items": {"$ref": f"#/components/schemas/{plan_step}"},
                "description": "Ordered skill calls (at most AOS_MAX_PLAN_STEPS).",
            }
    for name in ("RunInputRequest", "TraceIngestRequest"):
        props = components.get(name, {}).get("properties", {})
        if "input" in props:
            props["input"] = {**JSON_VALUE, "description": "The run input, referenced as `{{ input }}`."}
    for name in request_components:
        for prop_name, prop in components[name].get("properties", {}).items():
            if prop == {} or (isinstance(prop, dict) and set(prop) <= {"description"}):
                components[name]["properties"][prop_name] = {**JSON_VALUE, **prop}
            elif isinstance(prop, dict) and prop.get("type") == "object" and "properties" not in prop:
                prop.setdefault("additionalProperties", JSON_VALUE)
                prop.setdefault("propertyNames", {"pattern": NO_NUL})

    idempotent_ops = _idempotent_operations(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["tags"] = [_tag(path)]
            is_idempotent = (path, method) in idempotent_ops
            parameters = [p for p in operation.get("parameters", []) if p.get("name") != "Idempotency-Key"]
            if is_idempotent:
                parameters.append(_idempotency_header())
            for parameter in parameters:
                if parameter.get("in") in ("query", "path"):
                    _walk_request_schema(parameter.get("schema"))
                if path.startswith("/api/v1/secrets/") and parameter.get("name") == "name":
                    from vault.references import NAME_PATTERN

                    parameter["schema"] = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 64}
            if parameters:
                operation["parameters"] = parameters
            else:
                operation.pop("parameters", None)
            if "requestBody" in operation:
                _walk_request_schema(operation["requestBody"])
                example = EXAMPLES.get(operation.get("operationId", ""))
                if example is not None:
                    operation["requestBody"]["content"]["application/json"]["example"] = example
            for code in _errors_for(path, method, operation, idempotent=is_idempotent):
                operation["responses"][code] = {
                    "description": ERROR_TEXT[code],
                    "content": {"application/json": {"schema": ERROR}},
                }
            links = _links(operation.get("operationId", ""))
            if links:
                for code, response in operation["responses"].items():
                    if code.startswith("2"):
                        response["links"] = links
    result["tags"] = [
        {"name": "runtime", "description": "Simulate, run and replay plans; the skill registry."},
        {"name": "traces", "description": "Hash-chained traces: ingest, list, compare, delete."},
        {"name": "mismatches", "description": "Replay mismatches: report, triage, GitHub issues."},
        {"name": "alerts", "description": "Alertmanager's webhook receiver."},
        {"name": "secrets", "description": "Write-only tenant secrets for plans."},
        {"name": "account", "description": "Who the credentials resolve to."},
    ]
    return result
