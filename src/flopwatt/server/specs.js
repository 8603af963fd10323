// The views' forms: one entry per /v1 endpoint. Field: name, label, type (select | multi | number | text | list |
// textarea | file), kind (catalog list) or examples (bundled configs), value, path (request key), url (false: not
// kept in the URL), send (false: not a request key).
"use strict";
const TOPOLOGIES = ["fat-tree", "rail-optimized", "rail-only", "dragonfly", "torus"];
const PRECISIONS = ["fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"];
const FLEET_POLICIES = ["fifo", "max-throughput", "carbon-aware", "price-aware", "latency-aware"];
const VIEWS = {
  train: {endpoint: "/v1/train", submit: "Estimate", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "gpt3-175b"},
    {name: "accelerator", label: "Accelerator", type: "select", kind: "accelerators", value: "a100-sxm4-80gb"},
    {name: "devices", label: "Devices", type: "number", value: 1024},
    {name: "global_batch", label: "Global batch (sequences)", type: "number", value: 1536},
    {name: "tokens", label: "Training tokens", type: "number", value: 300e9},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
    {name: "cooling", label: "Cooling", type: "select", kind: "cooling", value: "air"},
    {name: "stack", label: "Stack", type: "select", kind: "stacks", value: "megatron-core"},
    {name: "fabric", label: "Scale-out fabric (blank: ideal)", type: "select", options: ["", ...TOPOLOGIES], value: ""},
    {name: "tp", label: "Tensor parallel (blank: chosen)", type: "number", value: ""},
    {name: "pp", label: "Pipeline stages (blank: chosen)", type: "number", value: ""},
  ]},
  serve: {endpoint: "/v1/serve", submit: "Estimate serving", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "llama2-70b"},
    {name: "accelerator", label: "Accelerator", type: "select", kind: "accelerators", value: "h100-sxm5-80gb"},
    {name: "devices", label: "Devices", type: "number", value: 8},
    {name: "precision", label: "Precision", type: "select", options: PRECISIONS, value: "fp8"},
    {name: "input_len", label: "Prompt tokens (mean)", type: "number", value: 2048},
    {name: "output_len", label: "Output tokens (mean)", type: "number", value: 256},
    {name: "ttft_slo_s", label: "TTFT target, s (blank: none)", type: "number", value: ""},
    {name: "tpot_slo_s", label: "TPOT target, s (blank: none)", type: "number", value: ""},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
    {name: "cooling", label: "Cooling", type: "select", kind: "cooling", value: "air"},
  ]},
  compare: {endpoint: "/v1/serve/compare", submit: "Compare", fields: [
    {name: "model", label: "Model", type: "select", kind: "models", value: "llama2-70b"},
    {name: "accelerator", label: "Accelerators (several)", type: "multi", kind: "accelerators",
      value: ["h100-sxm5-80gb", "h200-sxm-141gb"]},
    {name: "devices", label: "Devices (one, or one per accelerator)", type: "list", value: "8"},
    {name: "precision", label: "Precision", type: "select", options: PRECISIONS, value: "fp8"},
    {name: "input_len", label: "Prompt tokens (mean)", type: "number", value: 2048},
    {name: "output_len", label: "Output tokens (mean)", type: "number", value: 256},
    {name: "tpot_slo_s", label: "TPOT target, s (blank: none)", type: "number", value: ""},
    {name: "site", label: "Site", type: "select", kind: "sites", value: "us-virginia"},
  ]},
  fabric: {endpoint: "/v1/fabric", submit: "Design fabrics", fields: [
    {name: "endpoints", label: "Endpoints (NICs)", type: "number", value: 4096},
    {name: "topology", label: "Topologies (several)", type: "multi", options: TOPOLOGIES, value: ["fat-tree", "rail-optimized", "dragonfly"]},
    {name: "switch", label: "Switch (catalog id)", type: "text", value: "eth-51t2-400g"},
    {name: "oversubscription", label: "Oversubscription (downlink:uplink)", type: "number", value: 1},
  ]},
  plan: {endpoint: "/v1/plan", progress: "/v1/plan/progress", submit: "Search", fields: [
    {name: "model", path: "workload.model", label: "Model", type: "select", kind: "models", value: "llama3-8b"},
    {name: "tokens", path: "workload.tokens", label: "Training tokens", type: "number", value: 1e12},
    {name: "global_batch", path: "workload.global_batch", label: "Global batches (comma list)", type: "list", value: "512"},
    {name: "accelerators", path: "menu.accelerators", label: "Accelerators", type: "multi", kind: "accelerators",
      value: ["a100-sxm4-80gb", "h100-sxm5-80gb"]},
    {name: "devices", path: "menu.devices", label: "Device counts (comma list)", type: "list", value: "256,512"},
    {name: "sites", path: "menu.sites", label: "Sites", type: "multi", kind: "sites", value: ["us-oregon", "cn-guizhou"]},
    {name: "cooling", path: "menu.cooling", label: "Cooling", type: "multi", kind: "cooling", value: ["air"]},
    {name: "stacks", path: "menu.stacks", label: "Stacks", type: "multi", kind: "stacks", value: ["megatron-core"]},
    {name: "deadline_days", path: "constraints.deadline_days", label: "Deadline, days (blank: none)", type: "number", value: ""},
    {name: "budget_usd", path: "constraints.budget_usd", label: "Budget, $ (blank: none)", type: "number", value: ""},
    {name: "top_k", path: "output.top_k", label: "Fastest to list", type: "number", value: 10},
  ]},
  fleet: {endpoint: "/v1/fleet", submit: "Simulate", config: "fleet", fields: [
    {name: "example", label: "Bundled example", type: "select", examples: "fleet", value: "3site"},
    {name: "config_file", label: "Or upload a config (.toml)", type: "file", url: false, send: false},
    {name: "config_toml", label: "Config TOML (blank: the example above)", type: "textarea", url: false, value: ""},
    {name: "policies", label: "Policies", type: "multi", options: FLEET_POLICIES, value: FLEET_POLICIES},
    {name: "max_jobs", label: "Trace jobs to simulate (at most)", type: "number", value: 200},
    {name: "seed", label: "Seed of the class draw (blank: the config's)", type: "number", value: ""},
  ]},
  capacity: {endpoint: "/v1/capacity", submit: "Plan capacity", config: "capacity", fields: [
    {name: "example", label: "Bundled example", type: "select", examples: "capacity", value: "hyperscaler"},
    {name: "config_file", label: "Or upload a config (.toml)", type: "file", url: false, send: false},
    {name: "config_toml", label: "Config TOML (blank: the example above)", type: "textarea", url: false, value: ""},
  ]},
};
