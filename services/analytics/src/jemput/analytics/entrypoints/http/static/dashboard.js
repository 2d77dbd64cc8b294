// Dasbor perekaman e-KTP: reads the analytics API with the token the user gives, in this tab only.
"use strict";

(() => {
  const TOKEN_KEY = "jemput-analytics-token";
  const REFRESH_MS = 60_000;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  const numberFormat = new Intl.NumberFormat("id-ID");
  const decimalFormat = new Intl.NumberFormat("id-ID", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const dateFormat = new Intl.DateTimeFormat("id-ID", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const timeFormat = new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  const state = {
    area: null,
    districts: [],
    sort: { key: "lacking", direction: "descending" },
    open: new Set(),
    villages: new Map(),
    timer: null,
  };

  // --- formatting -------------------------------------------------------------------------

  const num = (value) => (value === null || value === undefined ? "-" : numberFormat.format(value));
  const dec = (value) => (value === null || value === undefined ? "-" : decimalFormat.format(value));
  const pct = (share) => (share === null || share === undefined ? "-" : `${decimalFormat.format(share * 100)}%`);
  const day = (iso) => (iso ? dateFormat.format(new Date(`${iso}T00:00:00Z`)) : "tidak tercapai");

  function text(id, value) {
    const element = $(id);
    if (element) element.textContent = value;
  }

  // --- credentials ------------------------------------------------------------------------

  function takeTokenFromFragment() {
    const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      // The fragment never reaches the server; drop it from the address bar and history too.
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  function authHeaders() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    return token.startsWith("jk_") ? { "X-API-Key": token } : { Authorization: `Bearer ${token}` };
  }

  function showLogin(reason) {
    $("dashboard").hidden = true;
    $("login").hidden = false;
    text("login-error", reason || "");
    $("token").focus();
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  // Answers with an ETag (coverage) are revalidated: the browser keeps them for this tab and
  // asks again with If-None-Match, which the server answers 304 without reading the counts.
  const REVALIDATED = new Set(["/v1/coverage"]);

  async function api(path, params) {
    const headers = authHeaders();
    if (!headers) throw new ApiError(401, "");
    const query = new URLSearchParams(params || {}).toString();
    const response = await fetch(`${path}${query ? `?${query}` : ""}`, {
      headers: { ...headers, Accept: "application/json" },
      cache: REVALIDATED.has(path) ? "no-cache" : "no-store",
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch (_) {
        // not a problem document
      }
      throw new ApiError(response.status, detail);
    }
    return response.json();
  }

  // --- the regency ------------------------------------------------------------------------

  function renderHeadline(area, asOf) {
    text("area-name", area.name);
    text("regency-name", area.name);
    text("as-of", day(asOf));
    const coverage = $("regency-coverage");
    coverage.textContent = pct(area.coverage);
    coverage.dataset.value = area.coverage === null ? "" : String(area.coverage);
    text("regency-target", pct(area.target_share));
    text("regency-due", day(area.target_due));
    text("regency-eligible", num(area.eligible));
    text("regency-recorded", num(area.recorded));
    text("regency-lacking", num(area.lacking));
    text("regency-pace-needed", area.pace_needed === null ? "-" : dec(area.pace_needed));
    text("regency-pace-14", dec(area.pace_14_days));
    text("regency-pace-30", dec(area.pace_30_days));
    text("regency-forecast", area.lacking === 0 ? "sudah tercapai" : day(area.reached_on_at_14_day_pace));
    text("regency-forecast-30", area.lacking === 0 ? "sudah" : day(area.reached_on_at_30_day_pace));
    const status = $("regency-status");
    status.textContent = area.at_risk ? "Berisiko tidak tercapai" : "Sesuai jalur";
    status.className = `status ${area.at_risk ? "risk" : "ok"}`;
    const bar = $("regency-bar");
    bar.style.width = `${Math.min(100, (area.coverage || 0) * 100)}%`;
    bar.parentElement.classList.toggle("risky", area.at_risk);
    $("regency-target-mark").style.left = `${Math.min(100, area.target_share * 100)}%`;
  }

  // --- districts and villages -------------------------------------------------------------

  function sortValue(row, key) {
    if (key === "forecast") return row.lacking === 0 ? "" : row.reached_on_at_14_day_pace || "9999";
    if (key === "at_risk") return row.at_risk ? 1 : 0;
    if (key === "coverage") return row.coverage === null ? -1 : row.coverage;
    return row[key];
  }

  function sorted(rows) {
    const { key, direction } = state.sort;
    const sign = direction === "ascending" ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      if (x < y) return -sign;
      if (x > y) return sign;
      return a.code < b.code ? -1 : 1;
    });
  }

  function coverageCell(row) {
    const cell = document.createElement("td");
    cell.className = "num coverage-cell";
    cell.textContent = pct(row.coverage);
    const bar = document.createElement("div");
    bar.className = `bar${row.at_risk ? " risky" : ""}`;
    const fill = document.createElement("div");
    fill.style.width = `${Math.min(100, (row.coverage || 0) * 100)}%`;
    bar.append(fill);
    const mark = document.createElement("span");
    mark.className = "target-mark";
    mark.style.left = `${Math.min(100, row.target_share * 100)}%`;
    bar.append(mark);
    cell.append(bar);
    return cell;
  }

  function areaRow(row, isVillage) {
    const tr = document.createElement("tr");
    tr.dataset.code = row.code;
    tr.className = isVillage ? "village" : "district";
    const name = document.createElement("td");
    if (isVillage) {
      name.textContent = row.name;
    } else {
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "toggle";
      toggle.setAttribute("aria-expanded", String(state.open.has(row.code)));
      toggle.textContent = `${state.open.has(row.code) ? "▾" : "▸"} ${row.name}`;
      toggle.addEventListener("click", () => toggleDistrict(row.code));
      name.append(toggle);
    }
    // No eligible resident known (now or by the due day): nothing to forecast.
    const empty = row.eligible === 0 && row.eligible_at_due === 0;
    const forecast = row.lacking === 0 ? "sudah tercapai" : day(row.reached_on_at_14_day_pace);
    const status = row.at_risk ? "Berisiko" : "Sesuai jalur";
    const cells = [
      name,
      cell(num(row.eligible), "num hide-narrow"),
      cell(num(row.recorded), "num hide-narrow"),
      coverageCell(row),
      cell(num(row.lacking), "num"),
      cell(empty ? "-" : forecast, "hide-narrow"),
      cell(empty ? "tanpa data" : status, empty ? "muted" : row.at_risk ? "risk" : "ok"),
    ];
    tr.append(...cells);
    return tr;
  }

  function cell(value, className) {
    const td = document.createElement("td");
    td.textContent = value;
    if (className) td.className = className;
    return td;
  }

  function renderDistricts() {
    const body = $("districts").querySelector("tbody");
    const rows = [];
    for (const district of sorted(state.districts)) {
      rows.push(areaRow(district, false));
      if (state.open.has(district.code)) {
        const villages = state.villages.get(district.code);
        if (villages) {
          for (const village of sorted(villages)) rows.push(areaRow(village, true));
        } else {
          const loading = document.createElement("tr");
          loading.className = "village";
          loading.append(cell("memuat desa/kelurahan…", ""));
          rows.push(loading);
        }
      }
    }
    body.replaceChildren(...rows);
    for (const th of $("districts").querySelectorAll("th")) {
      th.setAttribute("aria-sort", th.dataset.key === state.sort.key ? state.sort.direction : "none");
    }
  }

  async function loadVillages(code) {
    const report = await api("/v1/progress", { area: code });
    state.villages.set(code, report.children);
  }

  async function toggleDistrict(code) {
    if (state.open.has(code)) {
      state.open.delete(code);
      renderDistricts();
      return;
    }
    state.open.add(code);
    renderDistricts();
    try {
      await loadVillages(code);
    } catch (error) {
      state.open.delete(code);
      fail(error);
    }
    renderDistricts();
  }

  function setupSorting() {
    for (const th of $("districts").querySelectorAll("th")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.key;
        const same = state.sort.key === key;
        const direction = same && state.sort.direction === "descending" ? "ascending" : "descending";
        state.sort = { key, direction: key === "name" && !same ? "ascending" : direction };
        renderDistricts();
      });
    }
  }

  // --- the chart --------------------------------------------------------------------------

  function svg(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (parent) parent.append(element);
    return element;
  }

  // The drawing's width is its box's, so 12px labels stay 12px on a phone instead of shrinking
  // with a fixed-width drawing scaled down.
  function chartWidth(id) {
    return Math.max(300, Math.round($(id).clientWidth || 720));
  }

  function renderChart(daily, paceNeeded, pace14) {
    const width = chartWidth("chart");
    const height = width < 500 ? 200 : 240;
    const left = 44;
    const bottom = 24;
    const top = 10;
    const plotWidth = width - left - 8;
    const plotHeight = height - top - bottom;
    const highest = Math.max(1, ...daily.map((d) => d.recorded), paceNeeded || 0, pace14 || 0);
    const scale = plotHeight / (highest * 1.1);
    const y = (value) => top + plotHeight - value * scale;
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": "Grafik perekaman per hari dan laju yang dibutuhkan",
    });
    svg("line", { class: "axis", x1: left, x2: width - 8, y1: y(0), y2: y(0) }, root);
    for (const fraction of [0.5, 1]) {
      const value = Math.round(highest * fraction);
      svg("line", { class: "axis", x1: left, x2: width - 8, y1: y(value), y2: y(value) }, root);
      svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, root).textContent = num(value);
    }
    const step = plotWidth / Math.max(1, daily.length);
    // A date label about every 70px.
    const labelEvery = Math.max(1, Math.ceil(70 / step));
    const bars = svg("g", { class: "bars" }, root);
    daily.forEach((point, index) => {
      const rect = svg("rect", {
        x: left + index * step + 1,
        y: y(point.recorded),
        width: Math.max(1, step - 2),
        height: Math.max(0, y(0) - y(point.recorded)),
      }, bars);
      svg("title", {}, rect).textContent = `${day(point.day)}: ${num(point.recorded)} perekaman`;
      const last = index === daily.length - 1;
      if ((index % labelEvery === 0 && daily.length - 1 - index >= labelEvery) || last) {
        const anchor = last ? "end" : "middle";
        svg("text", { x: left + index * step + (last ? step : step / 2), y: height - 6, "text-anchor": anchor }, root)
          .textContent = day(point.day).replace(/ \d{4}$/, "");
      }
    });
    if (paceNeeded !== null && paceNeeded !== undefined) {
      svg("line", { class: "needed", x1: left, x2: width - 8, y1: y(paceNeeded), y2: y(paceNeeded) }, root);
    }
    svg("line", { class: "pace", x1: left, x2: width - 8, y1: y(pace14), y2: y(pace14) }, root);
    $("chart").replaceChildren(root);
  }

  // --- coverage month by month -----------------------------------------------------------

  const monthFormat = new Intl.DateTimeFormat("id-ID", { month: "short", year: "2-digit", timeZone: "UTC" });
  const monthName = (month) => monthFormat.format(new Date(`${month}-01T00:00:00Z`));

  function renderHistory(history) {
    const months = history.months;
    const width = chartWidth("history-chart");
    const height = width < 500 ? 200 : 240;
    const left = 44;
    const right = 12;
    const top = 10;
    const bottom = 24;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const y = (share) => top + plotHeight - Math.min(1, share) * plotHeight;
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": "Grafik cakupan perekaman per akhir bulan dan targetnya",
    });
    for (const share of [0, 0.5, 1]) {
      svg("line", { class: "axis", x1: left, x2: width - right, y1: y(share), y2: y(share) }, root);
      svg("text", { x: left - 6, y: y(share) + 4, "text-anchor": "end" }, root).textContent = `${share * 100}%`;
    }
    svg("line", {
      class: "target", x1: left, x2: width - right, y1: y(history.target), y2: y(history.target),
    }, root);
    const step = months.length > 1 ? plotWidth / (months.length - 1) : 0;
    const x = (index) => (months.length > 1 ? left + index * step : left + plotWidth / 2);
    const points = months.map((m, index) => `${x(index)},${y(m.coverage || 0)}`).join(" ");
    if (months.length > 1) svg("polyline", { class: "line", points }, root);
    const labelEvery = Math.max(1, Math.ceil(56 / Math.max(step, 1)));
    months.forEach((m, index) => {
      const dot = svg("circle", {
        class: "point", cx: x(index), cy: y(m.coverage || 0), r: 4,
        "data-month": m.month, "data-value": m.coverage === null ? "" : String(m.coverage),
      }, root);
      svg("title", {}, dot).textContent = `${monthName(m.month)}: ${pct(m.coverage)} (${num(m.recorded)} sudah rekam)`;
      const last = index === months.length - 1;
      if ((index % labelEvery === 0 && months.length - 1 - index >= labelEvery) || last) {
        const anchor = months.length === 1 ? "middle" : last ? "end" : index === 0 ? "start" : "middle";
        svg("text", { x: x(index), y: height - 6, "text-anchor": anchor }, root).textContent = monthName(m.month);
      }
    });
    if (!months.length) {
      svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, root).textContent =
        "Belum ada perekaman bertanggal.";
    }
    $("history-chart").replaceChildren(root);
    const rows = [...months].reverse().map((m) => {
      const tr = document.createElement("tr");
      tr.dataset.month = m.month;
      tr.append(
        cell(monthName(m.month), ""),
        cell(pct(m.coverage), "num"),
        cell(num(m.recorded), "num"),
        cell(num(m.recorded_in_month), "num"),
      );
      return tr;
    });
    $("history-table").querySelector("tbody").replaceChildren(...rows);
  }

  // --- the card pipeline ------------------------------------------------------------------

  function renderPipeline(coverage) {
    const total = coverage.area;
    text("pipeline-recorded", num(total.recorded));
    text("pipeline-print-ready", num(total.print_ready));
    text("pipeline-printed", num(total.printed));
    text("pipeline-issued", num(total.issued));
    text("pipeline-duplicates", num(total.duplicates));
    text("pipeline-suket", num(total.suket_outstanding));
    const rows = coverage.children.map((area) => {
      const tr = document.createElement("tr");
      tr.dataset.code = area.code;
      tr.append(
        cell(area.name, ""),
        ...[area.recorded, area.print_ready, area.printed, area.issued, area.duplicates, area.suket_outstanding]
          .map((value) => cell(num(value), "num")),
      );
      return tr;
    });
    $("pipeline-districts").querySelector("tbody").replaceChildren(...rows);
  }

  // --- areas at risk ----------------------------------------------------------------------

  function riskItem(area) {
    const li = document.createElement("li");
    li.dataset.code = area.code;
    const name = document.createElement("strong");
    name.textContent = area.name;
    const detail = document.createElement("span");
    detail.className = "muted";
    const needed = area.pace_needed === null ? "tenggat lewat" : `butuh ${dec(area.pace_needed)}/hari`;
    const extra = area.extra_per_day === null ? "" : `, +${dec(area.extra_per_day)} dari laju kini`;
    detail.textContent = ` kurang ${num(area.lacking)} · ${needed}${extra}`;
    li.append(name, detail);
    return li;
  }

  // The ones lacking the most; the rest counted (the API and its CSV list them all).
  const RISK_SHOWN = 10;

  function riskList(areas, none) {
    const note = (message) => Object.assign(document.createElement("li"), { textContent: message, className: "muted" });
    if (!areas.length) return [note(none)];
    const items = areas.slice(0, RISK_SHOWN).map(riskItem);
    if (areas.length > RISK_SHOWN) items.push(note(`dan ${num(areas.length - RISK_SHOWN)} lainnya`));
    return items;
  }

  function renderRisk(report) {
    $("risk-districts").replaceChildren(...riskList(report.children, "Tidak ada kecamatan berisiko."));
    $("risk-villages").replaceChildren(...riskList(report.grandchildren, "Tidak ada desa berisiko."));
  }

  // --- stock, outreach, data quality ------------------------------------------------------

  function renderStock(stock) {
    text("stock-available", num(stock.total.available));
    text("stock-cover", stock.total.days_of_cover === null ? "-" : `${dec(stock.total.days_of_cover)} hari`);
    text("stock-backlog", num(stock.print_backlog));
    text("stock-suket", num(stock.suket_outstanding));
    text("stock-reserved", num(stock.total.reserved));
    text("stock-suggested", num(stock.suggested_request));
    text("stock-reorder", stock.reorder_now ? "Ya" : "Belum");
    $("stock-reorder").classList.toggle("risk", stock.reorder_now);
    const requests = stock.requests_open.map((r) => {
      const li = document.createElement("li");
      li.dataset.request = r.request_id;
      li.textContent = `${day(r.requested_at.slice(0, 10))} · ${r.location}: ${num(r.quantity)} diminta, ` +
        `${num(r.received)} diterima, kurang ${num(r.outstanding)}`;
      return li;
    });
    $("stock-requests").replaceChildren(
      ...(requests.length ? requests : [Object.assign(document.createElement("li"), { textContent: "Tidak ada.", className: "muted" })]),
    );
    const rows = stock.locations.map((location) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(location.location + (location.low ? " (menipis)" : ""), location.low ? "risk" : ""),
        cell(num(location.available), "num"),
        cell(num(location.reserved), "num"),
        cell(location.days_of_cover === null ? "-" : dec(location.days_of_cover), "num"),
      );
      return tr;
    });
    $("stock-locations").querySelector("tbody").replaceChildren(...rows);
  }

  function renderOutreach(report) {
    text("outreach-sessions", num(report.sessions_scheduled));
    text("outreach-completed", num(report.sessions_completed));
    text("outreach-recordings", num(report.recordings));
    text("outreach-team-day", dec(report.recordings_per_team_day));
    text("outreach-kit-day", dec(report.recordings_per_working_kit_day));
    // Requests due this week: closed on or before their deadline, of all that are due.
    text("outreach-home-met", `${num(report.home_visit_deadlines_met)} dari ${num(report.home_visits_due)}`);
    text("outreach-home-late", num(report.home_visits_closed_late));
    // Still open with the deadline gone by: someone is waiting for a team.
    text("outreach-home-overdue", num(report.home_visits_open_past_deadline));
    $("outreach-home-overdue").classList.toggle("risk", report.home_visits_open_past_deadline > 0);
  }

  const ISSUE_NAMES = {
    no_denominator: "wilayah tanpa data penduduk",
    zero_denominator: "wilayah tanpa wajib KTP",
    above_100_percent: "cakupan di atas 100%",
    district_total_differs: "total kecamatan ≠ jumlah desanya",
    unknown_village: "kode desa tidak dikenal",
  };

  function renderQuality(report) {
    const entries = Object.entries(report.counts);
    const items = entries.length
      ? entries.map(([issue, count]) => {
          const li = document.createElement("li");
          li.textContent = `${num(count)} ${ISSUE_NAMES[issue] || issue}`;
          return li;
        })
      : [Object.assign(document.createElement("li"), { textContent: "Tidak ada masalah ditemukan." })];
    $("quality").replaceChildren(...items);
  }

  // --- loading ----------------------------------------------------------------------------

  function mondayOf(iso) {
    const date = new Date(`${iso}T00:00:00Z`);
    const back = (date.getUTCDay() + 6) % 7;
    date.setUTCDate(date.getUTCDate() - back);
    return date.toISOString().slice(0, 10);
  }

  function plusDays(iso, days) {
    const date = new Date(`${iso}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  function fail(error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin(sessionStorage.getItem(TOKEN_KEY) ? "Token ditolak atau kedaluwarsa." : "");
      return;
    }
    const message = $("message");
    message.hidden = false;
    message.textContent =
      error instanceof ApiError && error.status === 403
        ? `Token ini tidak berhak melihat wilayah ${state.area}. Buka dasbor dengan ?area=KODE wilayah Anda.`
        : `Gagal memuat data: ${error.message}`;
  }

  async function load() {
    try {
      const progress = await api("/v1/progress", { area: state.area });
      const monday = mondayOf(progress.as_of);
      const [coverage, history, risk, stock, outreach, quality] = await Promise.all([
        api("/v1/coverage", { area: state.area }),
        api("/v1/coverage/history", { area: state.area, as_of: progress.as_of }),
        api("/v1/at-risk", { area: state.area, as_of: progress.as_of }),
        api("/v1/stock", { area: state.area }),
        api("/v1/outreach/productivity", { area: state.area, from: monday, to: plusDays(monday, 6) }),
        api("/v1/data-quality", { area: state.area }).catch(() => ({ counts: {} })),
      ]);
      await Promise.all([...state.open].map((code) => loadVillages(code)));
      $("login").hidden = true;
      $("message").hidden = true;
      $("dashboard").hidden = false;
      renderHeadline(progress.area, progress.as_of);
      state.districts = progress.children;
      renderDistricts();
      renderChart(progress.daily, progress.area.pace_needed, progress.area.pace_14_days);
      renderHistory(history);
      renderPipeline(coverage);
      renderRisk(risk);
      renderStock(stock);
      renderOutreach(outreach);
      renderQuality(quality);
      text("refreshed", timeFormat.format(new Date()));
      document.body.dataset.loaded = "true";
    } catch (error) {
      fail(error);
    }
  }

  function start() {
    takeTokenFromFragment();
    const wanted = new URLSearchParams(window.location.search).get("area");
    state.area = wanted || document.body.dataset.regency;
    setupSorting();
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      load();
    });
    $("refresh").addEventListener("click", load);
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("");
    });
    if (!authHeaders()) {
      showLogin("");
    } else {
      load();
    }
    state.timer = setInterval(() => {
      if (authHeaders() && !document.hidden) load();
    }, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
