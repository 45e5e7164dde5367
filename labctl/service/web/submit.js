// Submit: a form generated from the protocol's parameter schema (the service's OpenAPI document), with units
// and ranges; the server's 422 messages are shown next to the field they name.
import {api, HttpError} from "/ui/api.js";
import {el, clear, ready} from "/ui/util.js";

function resolver(doc) {
  const get = (s) => {
    let x = s;
    while (x && x.$ref) x = x.$ref.split("/").slice(1).reduce((o, k) => o[k], doc);
    return x;
  };
  return get;
}

/** {base, nullable} of a field schema (anyOf [X, null] unwrapped, $refs resolved). */
function unwrap(schema, get) {
  let s = get(schema);
  let nullable = false;
  if (s.anyOf) {
    const parts = s.anyOf.map(get);
    nullable = parts.some((p) => p.type === "null");
    const rest = parts.filter((p) => p.type !== "null");
    s = {...s, ...rest[0], anyOf: undefined};
  }
  return {base: s, nullable};
}

const UNITS = new Set(["V", "A", "S", "s", "ms", "µs", "Hz", "Ω", "%", "W", "K", "°C", "jobs", "B", "cells", "pulses"]);

/** The unit of a field: its description ends ", <unit>" (optionally followed by a remark in parentheses). */
function unit(description) {
  const m = /,\s*([^,()\s]+)\s*(\(.*\))?\s*$/.exec(description || "");
  return m && UNITS.has(m[1]) ? m[1] : "";
}

function range(s) {
  const parts = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  if (s.minLength !== undefined && s.type === "string") parts.push(`${s.minLength}+ chars`);
  return parts.join(", ");
}

function literal(schema, get) {
  const s = get(schema);
  if (s.const !== undefined) return [s.const];
  return s.enum || [];
}

/** A form field for one parameter; read() returns [has value, value]. */
function field(name, raw, get, required) {
  const {base, nullable} = unwrap(raw, get);
  const desc = raw.description || base.description || "";
  const u = unit(desc);
  const dflt = raw.default !== undefined ? raw.default : base.default;
  let input;
  let read;
  if (base.type === "boolean") {
    input = el("input", {type: "checkbox", name});
    input.checked = dflt === true;
    read = () => (input.checked === (dflt === true) ? [false] : [true, input.checked]);
  } else if (base.enum) {
    input = el("select", {name}, nullable || dflt !== undefined ? el("option", {value: "", text: dflt !== undefined ? `default (${dflt})` : "—"}) : null,
      base.enum.map((v) => el("option", {value: v, text: v})));
    read = () => (input.value === "" ? [false] : [true, input.value]);
  } else {
    const isNum = base.type === "number" || base.type === "integer";
    const isTuple = base.type === "array";
    input = el("input", {type: "text", name, inputmode: isNum ? "decimal" : undefined, autocomplete: "off",
      placeholder: dflt !== undefined && dflt !== null ? `default ${Array.isArray(dflt) ? dflt.join(", ") : dflt}`
        : isTuple ? (base.items && base.items.type === "array" ? "JSON, e.g. [[1, 0.5], [0, -1]]" : "e.g. 8, 8")
          : nullable ? "unset" : ""});
    read = () => {
      const v = input.value.trim();
      if (v === "") return [false];
      if (isNum) return [true, v !== "" && Number.isFinite(Number(v)) ? Number(v) : v];
      if (isTuple && v.startsWith("[")) {  // JSON (nested lists: inputs, pairs)
        try { return [true, JSON.parse(v)]; } catch { return [true, v]; }
      }
      if (isTuple) return [true, v.replace(/[()]/g, "").split(/[,\s]+/).filter(Boolean).map((x) => (Number.isFinite(Number(x)) ? Number(x) : x))];
      return [true, v];
    };
  }
  input.id = `f-${name}`;
  const err = el("div.ferr", {role: "alert", dataset: {errorFor: name}});
  const rng = range(base);
  const box = el("div.field", {dataset: {field: name}},
    el("label", {for: input.id}, name, u ? el("span.unit", {text: ` [${u}]`}) : null, required ? el("span.error", {text: " *"}) : null),
    input,
    el("div.help", {text: [desc, rng ? `range ${rng}` : ""].filter(Boolean).join(" · ")}),
    err);
  return {name, box, input, err, read};
}

export function mount(root) {
  const ctl = new AbortController();
  const top = el("div.card");
  root.append(el("h1", {text: "Submit a job"}), top);
  (async () => {
    try {
      const [doc, benches] = await Promise.all([api("/openapi.json", {signal: ctl.signal}), api("/benches", {signal: ctl.signal})]);
      const get = resolver(doc);
      const body = get(doc.paths["/jobs"].post.requestBody.content["application/json"].schema);
      const variants = (body.oneOf || [body]).map(get);
      const byProtocol = Object.fromEntries(variants.map((v) => [literal(v.properties.protocol, get)[0], v]));
      const protocol = el("select", {name: "protocol", id: "f-protocol"},
        Object.keys(byProtocol).map((p) => el("option", {value: p, text: p})));
      protocol.value = byProtocol.program ? "program" : protocol.value;
      const bench = el("select", {name: "bench", id: "f-bench"}, benches.map((b) => el("option", {value: b.name, text: b.name})));
      const crossbar = el("select", {name: "crossbar", id: "f-crossbar"});
      const paramsBox = el("form.params", {novalidate: true});
      const formErr = el("p.error.form-error", {role: "alert"});
      const submitBtn = el("button.primary", {type: "button", id: "submit-job", text: "Submit job"});
      const top3 = {};
      const mk = (name, input, help) => {
        const err = el("div.ferr", {role: "alert", dataset: {errorFor: name}});
        top3[name] = {name, input, err, box: null};
        const box = el("div.field", {dataset: {field: name}}, el("label", {for: input.id, text: name}), input, el("div.help", {text: help}), err);
        top3[name].box = box;
        return box;
      };
      let fields = [];
      const fillCrossbars = () => {
        const b = benches.find((x) => x.name === bench.value);
        clear(crossbar).append(...Object.entries(b ? b.crossbars : {}).map(([n, x]) => el("option", {value: n, text: `${n} (${x.rows}×${x.cols})`})));
      };
      const summary = el("p.muted.protocol-summary");
      const build = () => {
        const v = byProtocol[protocol.value];
        const ps = get(v.properties.params);
        summary.textContent = (ps.description || "").replaceAll("``", "");
        const req = new Set(ps.required || []);
        fields = Object.entries(ps.properties || {}).map(([n, s]) => field(n, s, get, req.has(n)));
        clear(paramsBox).append(...fields.map((f) => f.box));
        clear(formErr);
      };
      bench.addEventListener("change", fillCrossbars);
      protocol.addEventListener("change", build);
      fillCrossbars();
      build();
      const clearErrors = () => {
        for (const f of [...fields, ...Object.values(top3)]) { f.err.textContent = ""; f.box.classList.remove("invalid"); }
        formErr.textContent = "";
      };
      const send = async () => {
        clearErrors();
        const params = {};
        for (const f of fields) {
          const [has, value] = f.read();
          if (has) params[f.name] = value;
        }
        const job = {protocol: protocol.value, bench: bench.value, crossbar: crossbar.value || null, params};
        submitBtn.disabled = true;
        try {
          const made = await api("/jobs", {method: "POST", body: job});
          location.hash = `#/jobs/${made.id}`;
        } catch (e) {
          if (e instanceof HttpError && e.status === 422 && Array.isArray(e.body.detail)) {
            const all = [...fields, ...Object.values(top3)];
            for (const item of e.body.detail) {
              const loc = (item.loc || []).map(String);
              const target = [...loc].reverse().map((k) => all.find((f) => f.name === k)).find(Boolean);
              const text = `${item.msg}${item.input !== undefined && typeof item.input !== "object" ? ` (got ${JSON.stringify(item.input)})` : ""}`;
              if (target) {
                target.err.textContent = target.err.textContent ? `${target.err.textContent}; ${text}` : text;
                target.box.classList.add("invalid");
              } else {
                formErr.textContent += `${loc.filter((k) => k !== "body").join(".") || "request"}: ${text}. `;
              }
            }
            if (!formErr.textContent) formErr.textContent = "The service refused the job (422): see the fields marked in red.";
          } else {
            formErr.textContent = e.message;
          }
        }
        submitBtn.disabled = false;
      };
      submitBtn.addEventListener("click", send);
      paramsBox.addEventListener("submit", (e) => { e.preventDefault(); send(); });
      clear(top).append(
        el("div.params-head", {},
          el("form.params", {novalidate: true, onsubmit: (e) => e.preventDefault()},
            mk("protocol", protocol, "Protocol (its parameters below)"),
            mk("bench", bench, "Bench to run on"),
            mk("crossbar", crossbar, "Crossbar of that bench"))),
        summary,
        el("h2", {text: "Parameters"}),
        el("p.muted", {text: "Empty fields take their default. Ranges and units come from the protocol's schema; the service checks everything again."}),
        paramsBox, formErr, el("div.row", {}, submitBtn));
    } catch (e) {
      if (!ctl.signal.aborted) clear(top).append(el("p.error", {text: e.message}));
    }
    ready("submit");
  })();
  return () => ctl.abort();
}
