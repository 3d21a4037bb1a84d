// The ECS console: a page that drives the server through the same API the aws CLI
// uses (POST / with X-Amz-Target), each request signed here with AWS Signature
// Version 4, and that follows changes by asking again every two seconds.
"use strict";

const TARGET = "AmazonEC2ContainerServiceV20141113";
const POLL_MS = 2000;
const REGION = document.querySelector('meta[name="ecs-region"]').content;
const AUTH = document.querySelector('meta[name="ecs-auth"]').content;
const enc = new TextEncoder();

// ---- Signing (SigV4) ------------------------------------------------------------

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(text) {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(text)));
}

async function signedHeaders(creds, target, body) {
  const now = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const date = now.slice(0, 8);
  const headers = {
    "content-type": "application/x-amz-json-1.1",
    host: location.host,
    "x-amz-date": now,
    "x-amz-target": target,
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    "POST", "/", "",
    ...names.map((n) => `${n}:${headers[n]}`), "",
    names.join(";"),
    await sha256(body),
  ].join("\n");
  const scope = `${date}/${creds.region}/ecs/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", now, scope, await sha256(canonical)].join("\n");
  let key = await hmac(enc.encode("AWS4" + creds.secret), date);
  for (const part of [creds.region, "ecs", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  delete headers.host; // the browser sends it
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${creds.key}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return headers;
}

// ---- The API ----------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message) { super(`${code}: ${message}`); this.code = code; }
}

function credentials() {
  const saved = sessionStorage.getItem("ecs-console-credentials");
  return saved ? JSON.parse(saved) : null;
}

async function call(operation, input = {}) {
  const body = JSON.stringify(input);
  const target = `${TARGET}.${operation}`;
  let headers = { "content-type": "application/x-amz-json-1.1", "x-amz-target": target };
  if (AUTH !== "none") {
    const creds = credentials();
    if (!creds) throw new ApiError("NotSignedIn", "sign in first");
    headers = await signedHeaders(creds, target, body);
  }
  const response = await fetch("/", { method: "POST", headers, body });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(answer.__type || response.status, answer.message || response.statusText);
  }
  return answer;
}

/// Every page of a list operation.
async function all(operation, input, key) {
  const items = [];
  let nextToken;
  do {
    const page = await call(operation, { ...input, nextToken });
    items.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return items;
}

/// Describes `ids` in chunks of `size` (the operation's most per call).
async function described(operation, input, member, ids, key, size) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) {
    const page = await call(operation, { ...input, [member]: ids.slice(i, i + size) });
    out.push(...(page[key] || []));
  }
  return out;
}

// ---- Rendering --------------------------------------------------------------------

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

const last = (arn) => String(arn || "").split("/").pop();
const pill = (s) => (s ? `<span class="pill ${esc(s)}">${esc(s)}</span>` : "");
// A task's instance; one waiting for capacity has none yet, and says for which provider.
const placedOn = (t) => t.containerInstanceArn
  ? esc(last(t.containerInstanceArn))
  : t.capacityProviderName ? `waiting for ${esc(t.capacityProviderName)}` : "";
const time = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "");
const enc_ = encodeURIComponent;

function resource(list, name) {
  const r = (list || []).find((x) => x.name === name);
  return r ? r.integerValue : 0;
}

function table(headers, rows, empty = "None.") {
  if (!rows.length) return `<p class="muted">${esc(empty)}</p>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

// ---- Views ------------------------------------------------------------------------

async function clustersView() {
  const arns = await all("ListClusters", {}, "clusterArns");
  const clusters = arns.length ? await described("DescribeClusters", {}, "clusters", arns, "clusters", 100) : [];
  return `<h1>Clusters</h1>` + table(
    ["Cluster", "Status", "Instances", "Services", "Running tasks", "Pending tasks", "Capacity providers"],
    clusters.map((c) => [
      `<a href="#/cluster/${enc_(c.clusterName)}">${esc(c.clusterName)}</a>`,
      pill(c.status), c.registeredContainerInstancesCount, c.activeServicesCount,
      c.runningTasksCount, c.pendingTasksCount,
      (c.capacityProviders || []).map((p) => {
        const d = (c.defaultCapacityProviderStrategy || []).find((s) => s.capacityProvider === p);
        return esc(p) + (d ? ` (default: base ${d.base || 0}, weight ${d.weight || 0})` : "");
      }).join("<br>"),
    ]), "No cluster yet.");
}

function tabs(cluster, active) {
  const t = (id, label) => `<a class="${id === active ? "active" : ""}" href="#/cluster/${enc_(cluster)}/${id}">${label}</a>`;
  return `<div class="tabs">${t("services", "Services")}${t("tasks", "Tasks")}${t("instances", "Container instances")}</div>`;
}

async function servicesOf(cluster) {
  const arns = await all("ListServices", { cluster }, "serviceArns");
  return described("DescribeServices", { cluster }, "services", arns.map(last), "services", 10);
}

async function tasksOf(cluster, filter = {}) {
  const arns = await all("ListTasks", { cluster, ...filter }, "taskArns");
  const stopped = await all("ListTasks", { cluster, ...filter, desiredStatus: "STOPPED" }, "taskArns");
  const ids = [...new Set([...arns, ...stopped])].map(last);
  return described("DescribeTasks", { cluster }, "tasks", ids, "tasks", 100);
}

function taskRows(cluster, tasks) {
  return tasks
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((t) => [
      `<a href="#/cluster/${enc_(cluster)}/task/${enc_(last(t.taskArn))}">${esc(last(t.taskArn).slice(0, 12))}</a>`,
      esc(last(t.taskDefinitionArn)), pill(t.lastStatus), pill(t.desiredStatus), pill(t.healthStatus),
      placedOn(t), esc(t.stopCode || ""), esc(t.stoppedReason || ""),
    ]);
}

const TASK_HEADERS = ["Task", "Task definition", "Last status", "Desired", "Health", "Instance", "Stop code", "Stopped reason"];

async function clusterView(cluster, tab) {
  let body;
  if (tab === "tasks") {
    body = table(TASK_HEADERS, taskRows(cluster, await tasksOf(cluster)), "No task.");
  } else if (tab === "instances") {
    const arns = await all("ListContainerInstances", { cluster }, "containerInstanceArns");
    const instances = arns.length
      ? await described("DescribeContainerInstances", { cluster }, "containerInstances", arns, "containerInstances", 100)
      : [];
    body = table(
      ["Instance", "Status", "Agent", "CPU (remaining / registered)", "Memory MiB (remaining / registered)", "Running tasks", "Attributes", ""],
      instances.map((i) => {
        const id = last(i.containerInstanceArn);
        const [cpu, cpuAll] = [resource(i.remainingResources, "CPU"), resource(i.registeredResources, "CPU")];
        const [mem, memAll] = [resource(i.remainingResources, "MEMORY"), resource(i.registeredResources, "MEMORY")];
        // How much is used, drawn without inline styles (the page's policy has none).
        const bar = (left, total) => `<progress max="${total}" value="${total - left}"></progress> ${left} / ${total}`;
        const attrs = (i.attributes || []).filter((a) => !a.name.startsWith("ecs.capability.") && !a.name.startsWith("com.amazonaws"))
          .map((a) => `${esc(a.name)}${a.value !== undefined ? "=" + esc(a.value) : ""}`).join("<br>");
        const action = i.status === "DRAINING"
          ? `<button class="secondary" data-action="activate" data-instance="${esc(id)}">Activate</button>`
          : `<button class="danger" data-action="drain" data-instance="${esc(id)}">Drain</button>`;
        return [esc(id), pill(i.status), i.agentConnected ? "connected" : '<span class="error">disconnected</span>',
          bar(cpu, cpuAll), bar(mem, memAll), i.runningTasksCount, attrs, action];
      }), "No container instance.");
  } else {
    const services = await servicesOf(cluster);
    body = table(
      ["Service", "Status", "Desired", "Running", "Pending", "Task definition", "Rollout"],
      services.map((s) => [
        `<a href="#/cluster/${enc_(cluster)}/service/${enc_(s.serviceName)}">${esc(s.serviceName)}</a>`,
        pill(s.status), s.desiredCount, s.runningCount, s.pendingCount, esc(last(s.taskDefinition)),
        pill((s.deployments || [])[0]?.rolloutState),
      ]), "No service.");
  }
  return `<h1>Cluster ${esc(cluster)}</h1>${tabs(cluster, tab)}${body}`;
}

async function serviceView(cluster, name) {
  const [s] = await described("DescribeServices", { cluster }, "services", [name], "services", 10);
  if (!s) return `<h1>Service ${esc(name)}</h1><p class="error">No such service in ${esc(cluster)}.</p>`;
  const tasks = await tasksOf(cluster, { serviceName: name });
  return `<h1>Service ${esc(s.serviceName)} ${pill(s.status)}</h1>
    <p><a href="#/cluster/${enc_(cluster)}/services">&larr; ${esc(cluster)}</a></p>
    <div class="card"><dl class="kv">
      <dt>Task definition</dt><dd><a href="#/taskdef/${enc_(last(s.taskDefinition).split(":")[0])}">${esc(last(s.taskDefinition))}</a></dd>
      <dt>Desired / running / pending</dt><dd id="counts">${s.desiredCount} / ${s.runningCount} / ${s.pendingCount}</dd>
      <dt>Scheduling</dt><dd>${esc(s.schedulingStrategy)}</dd>
    </dl>
    <div class="actions">
      <label>Desired count <input id="desired" type="number" min="0" value="${s.desiredCount}"></label>
      <button data-action="set-desired" data-service="${esc(s.serviceName)}">Update</button>
      <button class="secondary" data-action="force-deploy" data-service="${esc(s.serviceName)}">Force new deployment</button>
    </div></div>
    <h2>Deployments</h2>${table(["Id", "Status", "Task definition", "Desired", "Running", "Pending", "Failed", "Rollout", "Reason"],
      (s.deployments || []).map((d) => [esc(d.id), pill(d.status), esc(last(d.taskDefinition)), d.desiredCount,
        d.runningCount, d.pendingCount, d.failedTasks, pill(d.rolloutState), esc(d.rolloutStateReason)]))}
    <h2>Tasks</h2>${table(TASK_HEADERS, taskRows(cluster, tasks), "No task.")}
    <h2>Events</h2>${table(["Time", "Message"], (s.events || []).slice(0, 20).map((e) => [time(e.createdAt), esc(e.message)]), "No event yet.")}`;
}

async function taskView(cluster, id) {
  const [t] = await described("DescribeTasks", { cluster }, "tasks", [id], "tasks", 100);
  if (!t) return `<h1>Task ${esc(id)}</h1><p class="error">No such task in ${esc(cluster)} (stopped tasks are forgotten after a while).</p>`;
  const stop = t.desiredStatus === "STOPPED" ? ""
    : `<div class="actions"><button class="danger" data-action="stop-task" data-task="${esc(id)}">Stop task</button></div>`;
  return `<h1>Task ${esc(id)} ${pill(t.lastStatus)}</h1>
    <p><a href="#/cluster/${enc_(cluster)}/tasks">&larr; ${esc(cluster)}</a></p>
    <div class="card"><dl class="kv">
      <dt>Task definition</dt><dd>${esc(last(t.taskDefinitionArn))}</dd>
      <dt>Desired status</dt><dd>${pill(t.desiredStatus)}</dd>
      <dt>Health</dt><dd>${pill(t.healthStatus)}</dd>
      <dt>Instance</dt><dd>${placedOn(t)}</dd>
      <dt>Group / started by</dt><dd>${esc(t.group)} / ${esc(t.startedBy || "")}</dd>
      <dt>Created / started / stopped</dt><dd>${time(t.createdAt)} / ${time(t.startedAt)} / ${time(t.stoppedAt)}</dd>
      <dt>Stop code</dt><dd id="stop-code">${esc(t.stopCode || "")}</dd>
      <dt>Stopped reason</dt><dd id="stopped-reason">${esc(t.stoppedReason || "")}</dd>
    </dl>${stop}</div>
    <h2>Containers</h2>${table(["Name", "Image", "Status", "Health", "Exit code", "Ports", "Reason", "Runtime id"],
      (t.containers || []).map((c) => [esc(c.name), esc(c.image), pill(c.lastStatus), pill(c.healthStatus), esc(c.exitCode ?? ""),
        (c.networkBindings || []).map((b) => `${esc(b.hostPort)}&rarr;${esc(b.containerPort)}/${esc(b.protocol)}`).join("<br>"),
        esc(c.reason || ""), esc((c.runtimeId || "").slice(0, 12))]))}`;
}

async function taskDefinitionsView() {
  const families = await all("ListTaskDefinitionFamilies", { status: "ALL" }, "families");
  return `<h1>Task definitions</h1>` + table(["Family"],
    families.map((f) => [`<a href="#/taskdef/${enc_(f)}">${esc(f)}</a>`]), "No task definition yet.");
}

async function taskDefinitionView(family, revision) {
  const arns = [
    ...(await all("ListTaskDefinitions", { familyPrefix: family, status: "ACTIVE" }, "taskDefinitionArns")),
    ...(await all("ListTaskDefinitions", { familyPrefix: family, status: "INACTIVE" }, "taskDefinitionArns")),
  ];
  const revisions = arns.map((a) => Number(a.split(":").pop())).sort((a, b) => b - a);
  const chosen = Number(revision) || revisions[0];
  const td = chosen ? (await call("DescribeTaskDefinition", { taskDefinition: `${family}:${chosen}` })).taskDefinition : null;
  return `<h1>Task definition ${esc(family)}</h1>
    <p>Revisions: ${revisions.map((r) => `<a href="#/taskdef/${enc_(family)}/${r}">${r === chosen ? `<strong>${r}</strong>` : r}</a>`).join(" ")}</p>
    ${td ? `<div class="card"><dl class="kv"><dt>Revision</dt><dd>${td.revision} ${pill(td.status)}</dd>
      <dt>Containers</dt><dd>${(td.containerDefinitions || []).map((c) => esc(c.name)).join(", ")}</dd></dl></div>
      <pre id="taskdef-json">${esc(JSON.stringify(td, null, 2))}</pre>` : ""}`;
}

// ---- Routing, polling, actions ----------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "cluster" && parts[1]) {
    if (parts[2] === "service" && parts[3]) return () => serviceView(parts[1], parts[3]);
    if (parts[2] === "task" && parts[3]) return () => taskView(parts[1], parts[3]);
    return () => clusterView(parts[1], parts[2] || "services");
  }
  if (parts[0] === "taskdefs") return taskDefinitionsView;
  if (parts[0] === "taskdef" && parts[1]) return () => taskDefinitionView(parts[1], parts[2]);
  return clustersView;
}

const view = document.getElementById("view");
const status = document.getElementById("status");
let rendering = false;

async function render() {
  if (rendering) return;
  // Typing in the view is not interrupted by a refresh.
  if (view.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  rendering = true;
  try {
    view.innerHTML = await route()();
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.classList.remove("error");
  } catch (e) {
    if (e.code === "NotSignedIn" || e.code === "InvalidSignatureException" || e.code === "UnrecognizedClientException") {
      showLogin(e.code === "NotSignedIn" ? "" : e.message);
    } else {
      status.textContent = e.message;
      status.classList.add("error");
    }
  } finally {
    rendering = false;
  }
}

function currentCluster() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return parts[0] === "cluster" ? parts[1] : undefined;
}

async function act(button) {
  const cluster = currentCluster();
  const a = button.dataset;
  const actions = {
    "set-desired": () => call("UpdateService", { cluster, service: a.service, desiredCount: Number(document.getElementById("desired").value) }),
    "force-deploy": () => call("UpdateService", { cluster, service: a.service, forceNewDeployment: true }),
    "stop-task": () => call("StopTask", { cluster, task: a.task, reason: "Stopped from the console" }),
    drain: () => call("UpdateContainerInstancesState", { cluster, containerInstances: [a.instance], status: "DRAINING" }),
    activate: () => call("UpdateContainerInstancesState", { cluster, containerInstances: [a.instance], status: "ACTIVE" }),
  };
  button.disabled = true;
  try {
    await actions[a.action]();
    status.textContent = `${button.textContent.trim()}: done`;
    status.classList.remove("error");
  } catch (e) {
    status.textContent = e.message;
    status.classList.add("error");
  } finally {
    button.disabled = false;
    document.activeElement?.blur();
    render();
  }
}

view.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) act(button);
});

const login = document.getElementById("login");

function showLogin(message) {
  login.hidden = false;
  view.hidden = true;
  login.region.value = login.region.value || REGION;
  document.getElementById("login-error").textContent = message || "";
}

login.addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem("ecs-console-credentials", JSON.stringify({
    key: login.key.value.trim(), secret: login.secret.value, region: login.region.value.trim(),
  }));
  try {
    await call("ListClusters", {});
  } catch (e) {
    sessionStorage.removeItem("ecs-console-credentials");
    showLogin(e.message);
    return;
  }
  login.hidden = true;
  view.hidden = false;
  document.getElementById("signout").hidden = false;
  render();
});

document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem("ecs-console-credentials");
  location.reload();
});

window.addEventListener("hashchange", render);
if (AUTH !== "none" && !credentials()) {
  showLogin("");
} else {
  document.getElementById("signout").hidden = AUTH === "none";
  render();
}
setInterval(() => { if (!view.hidden) render(); }, POLL_MS);
