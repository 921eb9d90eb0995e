// The dashboards' charts: each asks the API for its series (the session cookie signs the request, so
// row-level security applies), draws it with ECharts in the reader's language, and offers the very data it
// shows as CSV. Texts, number symbols and the series' parameters come from the page (#config).
"use strict";

const config = JSON.parse(document.getElementById("config").textContent);
const texts = config.texts;

// Numbers with the locale's symbols (from Babel's CLDR data, as on the server).
function number(value, digits) {
  if (value === null || value === undefined) return "";
  const [whole, fraction] = Math.abs(value).toFixed(digits).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, config.group);
  return (value < 0 ? "-" : "") + grouped + (fraction ? config.decimal + fraction : "");
}

// An amount in CHF as the locale writes it ("CHF 12.50", "12,50 CHF": CLDR's pattern, from Babel).
function chf(value) {
  return value === null || value === undefined ? "" : config.chf[0] + number(value, 2) + config.chf[1];
}

// Times as the apartment's clocks show them, wherever the reader is: a chart holds each instant as its
// wall-clock time in the apartment's zone written as UTC, and ECharts draws in UTC (useUTC).
const zoneParts = new Intl.DateTimeFormat("en-US", {
  timeZone: config.timezone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
  hour: "numeric", minute: "numeric", second: "numeric",
});
const offsets = new Map();  // hour since the epoch -> the zone's offset then, in ms

function offsetAt(ms) {
  const hour = Math.floor(ms / 3600000);
  if (!offsets.has(hour)) {
    const at = hour * 3600000;
    const p = Object.fromEntries(zoneParts.formatToParts(at).map((part) => [part.type, Number(part.value)]));
    offsets.set(hour, Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - at);
  }
  return offsets.get(hour);
}

function wall(ts) {
  const ms = typeof ts === "number" ? ts : Date.parse(ts);
  return ms + offsetAt(ms);
}

function instant(wallMs) {
  return wallMs - offsetAt(wallMs - offsetAt(wallMs));
}

const iso = (ms) => new Date(ms).toISOString();
const wallText = (ms) => new Date(ms).toLocaleString(config.locale, { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" });

function apiUrl(path, extra) {
  const query = new URLSearchParams({ apartment: config.apartment, from: config.from, to: config.to, ...extra });
  if (config.room !== null) query.set("room", config.room);
  if (config.device !== null) query.set("device", config.device);
  return path + "?" + query.toString();
}

async function fetchJson(url) {
  const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (answer.status === 401) {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
    return null;
  }
  if (!answer.ok) throw new Error(answer.status + " " + url);
  return answer.json();
}

const tables = {};  // chart id -> {columns, rows}: what the chart shows, for its CSV

function offerCsv(id, columns, rows) {
  tables[id] = { columns, rows };
}

function downloadCsv(id) {
  const table = tables[id];
  if (!table) return;
  const quote = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
  const lines = [table.columns.map(quote).join(",")].concat(table.rows.map((row) => row.map(quote).join(",")));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv;charset=utf-8" }));
  link.download = id + ".csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function chartIn(id) {
  const element = document.getElementById(id);
  if (element.chart) return element.chart;
  const chart = echarts.init(element, null, { locale: config.echartsLocale, renderer: "canvas" });
  window.addEventListener("resize", () => chart.resize());
  element.chart = chart;  // the page's tests read the chart's options from here
  // drawn: the data is set and its last animation ended (tests and the benchmark wait for it); a
  // "finished" before that (the loading spinner's) does not count
  chart.on("finished", () => {
    if (element.dataset.filled) element.dataset.drawn = "true";
  });
  // painted: the first frame with the data (make dashboards-bench reads it: ms since the navigation began)
  chart.on("rendered", () => {
    if (element.dataset.filled && !element.dataset.painted) {
      element.dataset.painted = "true";
      performance.mark("painted:" + id);
    }
  });
  return chart;
}

// Every chart: the colour-blind safe palette, an aria description (read from its title, which the card
// shows, so the chart's own is hidden), a short animation, times on the apartment's clock. Drawn anew each
// time (a zoom replaces the data).
function draw(chart, title, option) {
  chart.getDom().dataset.filled = "true";
  chart.setOption({
    color: PALETTE, aria: { enabled: true }, animationDuration: 300, useUTC: true, title: { text: title, show: false },
    ...option,
  }, { notMerge: true });
}

// Before a chart is drawn again: the tests and the benchmark wait for the new drawing.
function redrawing(chart) {
  delete chart.getDom().dataset.drawn;
  delete chart.getDom().dataset.filled;
  chart.showLoading();
}

const GRAINS = config.grains.map(([grain]) => grain).concat(["day"]);
const grainFor = (span) => (config.grains.find(([, upTo]) => span <= upTo) || ["day"])[0];

// Zooming asks the API for finer data: once the window shown would have a finer grain than the one drawn
// (the API's rule), `redraw` draws the charts again for that window alone; "Whole period" goes back.
// `shown()` is the drawn [first, last) in wall-clock ms and its grain.
function zoomable(charts, shown, redraw) {
  let timer;
  charts.forEach((chart) => {
    chart.on("datazoom", (event) => {
      const zoom = event.batch ? event.batch[0] : event;
      if (zoom.start === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const [first, last, grain] = shown();
        const from = first + ((last - first) * zoom.start) / 100;
        const to = first + ((last - first) * zoom.end) / 100;
        if (GRAINS.indexOf(grainFor(to - from)) < GRAINS.indexOf(grain)) {
          redraw({ from: iso(instant(from)), to: iso(instant(to)) });
        }
      }, 300);
    });
    const back = wholePeriodButton(chart);
    if (back) back.addEventListener("click", () => redraw(null));
  });
}

const wholePeriodButton = (chart) => document.querySelector(`button.zoom-out[data-chart="${chart.getDom().id}"]`);

// The "Whole period" buttons of the charts, shown while they show a zoomed window.
function zoomedTo(charts, window) {
  charts.forEach((chart) => {
    const back = wholePeriodButton(chart);
    if (back) back.hidden = !window;
  });
}

function showMessage(chart, message) {
  chart.getDom().dataset.filled = "true";
  chart.setOption({ title: { text: message, left: "center", top: "middle", textStyle: { fontSize: 14 } } });
  chart.getDom().dataset.drawn = "true";
}

// A colour-blind safe palette (Okabe and Ito).
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

// What a zoomable chart shows: [first, last) in wall-clock ms, and its grain.
const shown = {};

// The apartment's kWh at each tariff and its cost over the period, or over a zoomed `window` of it; the
// previous period of the same length drawn over it, and the weather to overlay.
async function energyChart(window) {
  const chart = chartIn("energy-chart");
  const period = window || { from: config.from, to: config.to };
  const back = wall(config.from) - wall(config.previousFrom);  // whole days, on the clock
  redrawing(chart);
  let answer, previous, weather;
  try {
    [answer, previous, weather] = await Promise.all([
      fetchJson(apiUrl("/api/energy", period)),
      fetchJson(apiUrl("/api/energy", {
        from: iso(instant(wall(period.from) - back)), to: iso(instant(wall(period.to) - back)),
      })),
      fetchJson("/api/weather?" + new URLSearchParams({ apartment: config.apartment, from: config.firstDay, to: config.dayAfter })),
    ]);
  } catch (error) {
    chart.hideLoading();
    showMessage(chart, texts.failed);
    return;
  }
  chart.hideLoading();
  if (!answer) return;
  zoomedTo([chart], window);
  const points = answer.points;
  offerCsv("energy-chart", ["ts", "kwh_high", "kwh_low", "chf"], points.map((p) => [p.ts, p.kwh_high, p.kwh_low, p.chf]));
  if (!points.length) {
    showMessage(chart, texts.no_data);
    return;
  }
  shown["energy-chart"] = [wall(period.from), wall(period.to), answer.grain];
  const noon = (day) => Date.parse(day + "T12:00:00Z");  // each day's weather at its noon
  const days = weather ? weather.days : [];
  draw(chart, texts.energy_title, {
    tooltip: { trigger: "axis", valueFormatter: (value) => number(value, 3) },
    legend: { top: 0, right: 0, type: "scroll", selected: { [texts.temperature]: false, [texts.radiation]: false } },
    grid: { left: 60, right: 120, top: 50, bottom: 70 },
    dataZoom: [{ type: "inside" }, { type: "slider" }],
    xAxis: { type: "time", name: texts.time, min: shown["energy-chart"][0], max: shown["energy-chart"][1] },
    yAxis: [
      { type: "value", name: texts.kwh_axis, axisLabel: { formatter: (v) => number(v, 2) } },
      { type: "value", name: texts.chf_axis, axisLabel: { formatter: (v) => number(v, 2) } },
      { type: "value", name: texts.celsius, offset: 55, splitLine: { show: false }, axisLabel: { formatter: (v) => number(v, 0) } },
      { type: "value", show: false },
    ],
    series: [
      { name: texts.kwh_high, type: "bar", stack: "kwh", data: points.map((p) => [wall(p.ts), p.kwh_high]) },
      { name: texts.kwh_low, type: "bar", stack: "kwh", data: points.map((p) => [wall(p.ts), p.kwh_low]) },
      {
        name: texts.chf, type: "line", yAxisIndex: 1, showSymbol: false, data: points.map((p) => [wall(p.ts), p.chf]),
        tooltip: { valueFormatter: chf },
      },
      {
        name: texts.previous, type: "line", showSymbol: false, lineStyle: { type: "dashed", width: 1 },
        data: previous.points.map((p) => [wall(p.ts) + back, p.kwh]),
      },
      { name: texts.temperature, type: "line", yAxisIndex: 2, step: "middle", data: days.map((d) => [noon(d.day), d.temperature_mean_c]) },
      { name: texts.radiation, type: "line", yAxisIndex: 3, areaStyle: { opacity: 0.15 }, data: days.map((d) => [noon(d.day), d.radiation_wh_m2]) },
    ],
  });
}

async function forecastChart() {
  const chart = chartIn("forecast-chart");
  const now = Date.parse(config.now);
  const hour = 3600 * 1000;
  let forecast, actual;
  try {
    [forecast, actual] = await Promise.all([
      fetchJson(apiUrl("/api/predictions", { from: iso(now - 24 * hour), to: iso(now + 48 * hour), model: "energy_forecast" })),
      fetchJson(apiUrl("/api/energy", { from: iso(now - 24 * hour), to: iso(now), grain: "15min" })),
    ]);
  } catch (error) {
    showMessage(chart, texts.failed);
    return;
  }
  if (!forecast) return;
  const points = forecast.points;
  offerCsv("forecast-chart", ["ts", "forecast_kwh", "lower_kwh", "upper_kwh"], points.map((p) => [p.ts, p.value, p.lower, p.upper]));
  if (!points.length && !actual.points.length) {
    showMessage(chart, texts.no_data);
    return;
  }
  const banded = points.filter((p) => p.lower !== null && p.upper !== null);
  draw(chart, texts.forecast_title, {
    tooltip: { trigger: "axis", valueFormatter: (value) => number(value, 3) },
    legend: { top: 0, data: [texts.forecast, texts.band, texts.actual] },
    grid: { left: 60, right: 30, top: 40, bottom: 40 },
    xAxis: { type: "time", name: texts.time },
    yAxis: { type: "value", name: texts.kwh_axis, axisLabel: { formatter: (v) => number(v, 3) } },
    series: [
      { name: texts.band, type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, data: banded.map((p) => [wall(p.ts), p.lower]), tooltip: { show: false } },
      { name: texts.band, type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { color: "#56B4E9", opacity: 0.3 }, data: banded.map((p) => [wall(p.ts), p.upper - p.lower]), tooltip: { show: false } },
      {
        name: texts.forecast, type: "line", showSymbol: false, data: points.map((p) => [wall(p.ts), p.value]), itemStyle: { color: "#0072B2" },
        markLine: { symbol: "none", label: { show: false }, data: [{ xAxis: wall(now) }] },
      },
      { name: texts.actual, type: "bar", data: actual.points.map((p) => [wall(p.ts), p.kwh]), itemStyle: { color: "#E69F00" } },
    ],
  });
}

// The plugs device by device, stacked with what no plug measured, over the period or a zoomed `window` of it;
// and what each cost over the whole period.
async function deviceCharts(window) {
  const stacked = chartIn("devices-chart");
  const costs = chartIn("device-cost-chart");
  const period = window || { from: config.from, to: config.to };
  redrawing(stacked);
  let answer;
  try {
    answer = await fetchJson(apiUrl("/api/energy/devices", period));
  } catch (error) {
    stacked.hideLoading();
    showMessage(stacked, texts.failed);
    if (!window) showMessage(costs, texts.failed);
    return;
  }
  stacked.hideLoading();
  if (!answer) return;
  zoomedTo([stacked], window);
  const names = Object.fromEntries(answer.devices.map((d) => [d.device, d.name || String(d.device)]));
  const byDevice = {};
  answer.points.forEach((p) => (byDevice[p.device] = byDevice[p.device] || []).push([wall(p.ts), p.kwh]));
  const series = answer.devices.map((d) => ({
    name: names[d.device], type: "bar", stack: "kwh", data: byDevice[d.device] || [],
  }));
  if (answer.unmetered.length) {
    series.push({
      name: texts.unmetered, type: "bar", stack: "kwh", itemStyle: { color: "#BBBBBB" },
      data: answer.unmetered.map((p) => [wall(p.ts), p.kwh]),
    });
  }
  offerCsv("devices-chart", ["ts", texts.device, "kwh"],
    answer.points.map((p) => [p.ts, names[p.device], p.kwh]).concat(answer.unmetered.map((p) => [p.ts, texts.unmetered, p.kwh])));
  if (!series.length) {
    showMessage(stacked, texts.no_data);
    if (!window) showMessage(costs, texts.no_data);
    return;
  }
  shown["devices-chart"] = [wall(period.from), wall(period.to), answer.grain];
  draw(stacked, texts.devices_title, {
    tooltip: { trigger: "axis", valueFormatter: (value) => number(value, 3) },
    legend: { type: "scroll", top: 0 },
    grid: { left: 60, right: 30, top: 50, bottom: 70 },
    dataZoom: [{ type: "inside" }, { type: "slider" }],
    xAxis: { type: "time", name: texts.time, min: shown["devices-chart"][0], max: shown["devices-chart"][1] },
    yAxis: { type: "value", name: texts.kwh_axis, axisLabel: { formatter: (v) => number(v, 2) } },
    series,
  });
  if (window) return;
  const totals = answer.devices.map((d) => [names[d.device], d.kwh, d.chf]);
  if (answer.unmetered.length) {
    const sum = (key) => answer.unmetered.reduce((total, p) => total + (p[key] || 0), 0);
    totals.push([texts.unmetered, sum("kwh"), sum("chf")]);
  }
  offerCsv("device-cost-chart", [texts.device, "kwh", "chf"], totals);
  const ordered = totals.slice().sort((a, b) => (a[2] || 0) - (b[2] || 0));  // costliest at the top
  draw(costs, texts.device_cost_title, {
    tooltip: { trigger: "item", formatter: (p) => p.name + ": " + chf(p.value) },
    grid: { left: 160, right: 40, top: 10, bottom: 30 },
    xAxis: { type: "value", name: texts.chf_axis, axisLabel: { formatter: (v) => number(v, 2) } },
    yAxis: { type: "category", data: ordered.map((t) => t[0]) },
    series: [{ name: texts.chf, type: "bar", data: ordered.map((t) => t[2]) }],
  });
}

const METRICS = [
  { id: "temperature-chart", key: "temperature_c", title: "temperature_title", band: [20, 24], digits: 1 },
  { id: "humidity-chart", key: "humidity_pct", title: "humidity_title", band: [40, 60], digits: 0 },
  { id: "co2-chart", key: "co2_ppm", title: "co2_title", above: 1000, digits: 0 },
  { id: "noise-chart", key: "noise_db", title: "noise_title", digits: 0 },
];
// Comfort: 20-24 °C and 40-60 % humidity shaded; CO2 above 1,000 ppm marked.

// Each room's climate over the period or a zoomed `window` of it (the four charts zoom together), and its
// windows and doors.
async function environmentCharts(window) {
  const rooms = config.room !== null ? config.rooms.filter((r) => r.room === config.room) : config.rooms;
  const charts = METRICS.map((m) => chartIn(m.id));
  const openingsChart = chartIn("openings-chart");
  const period = window || { from: config.from, to: config.to };
  charts.concat([openingsChart]).forEach(redrawing);
  let answers;
  try {
    answers = await Promise.all(rooms.map((r) => fetchJson(apiUrl("/api/environment", { ...period, room: r.room }))));
  } catch (error) {
    charts.concat([openingsChart]).forEach((chart) => chart.hideLoading());
    charts.concat([openingsChart]).forEach((chart) => showMessage(chart, texts.failed));
    return;
  }
  charts.concat([openingsChart]).forEach((chart) => chart.hideLoading());
  if (answers.some((a) => !a)) return;
  zoomedTo(charts, window);
  if (answers.length) shown.environment = [wall(period.from), wall(period.to), answers[0].grain];
  const anomalies = answers.length ? answers[0].anomalies : [];
  const reasonsAt = (ms) => anomalies.filter((a) => wall(a.from) <= ms && ms < wall(a.to)).map((a) => a.reason);
  METRICS.forEach((metric, index) => {
    const chart = charts[index];
    const series = rooms.map((room, r) => ({
      name: room.name, type: "line", showSymbol: false,
      data: answers[r].points.map((p) => [wall(p.ts), p[metric.key]]),
    }));
    offerCsv(metric.id, ["ts", texts.room, metric.key],
      rooms.flatMap((room, r) => answers[r].points.map((p) => [p.ts, room.name, p[metric.key]])));
    if (!series.some((s) => s.data.some((d) => d[1] !== null))) {
      showMessage(chart, texts.no_data);
      return;
    }
    const areas = anomalies.map((a) => [{ xAxis: wall(a.from), name: texts.anomaly }, { xAxis: wall(a.to) }]);
    if (metric.band) areas.push([{ yAxis: metric.band[0], name: texts.comfort, itemStyle: { color: "rgba(0,158,115,0.10)" } }, { yAxis: metric.band[1] }]);
    if (metric.above) {
      const top = Math.max(metric.above, ...series.flatMap((s) => s.data.map((d) => d[1] || 0)));
      areas.push([{ yAxis: metric.above, name: texts.co2_high, itemStyle: { color: "rgba(213,94,0,0.10)" } }, { yAxis: top }]);
    }
    series[0].markArea = { silent: true, itemStyle: { color: "rgba(204,121,167,0.15)" }, label: { fontSize: 10 }, data: areas };
    draw(chart, texts[metric.title], {
      tooltip: {
        trigger: "axis",
        formatter: (params) => {
          const lines = params.map((p) => p.marker + p.seriesName + ": " + number(p.value[1], metric.digits));
          const reasons = reasonsAt(params.length ? params[0].axisValue : 0).map((r) => "⚠ " + r);
          return [wallText(params[0].axisValue)].concat(lines, reasons).join("<br>");
        },
      },
      legend: { top: 0, type: "scroll" },
      grid: { left: 60, right: 30, top: 40, bottom: 40 },
      dataZoom: [{ type: "inside" }],
      xAxis: { type: "time", name: texts.time, min: shown.environment[0], max: shown.environment[1] },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: (v) => number(v, metric.digits) } },
      series,
    });
  });
  // windows and doors: one line per room and kind, a bar per open interval
  const lanes = [];
  const bars = [];
  rooms.forEach((room, r) => answers[r].openings.forEach((o) => {
    const lane = room.name + " · " + (o.kind === "door" ? texts.door : texts.window);
    if (!lanes.includes(lane)) lanes.push(lane);
    bars.push([lanes.indexOf(lane), wall(o.from), wall(o.to)]);
  }));
  offerCsv("openings-chart", [texts.room, "kind", "from", "to"],
    rooms.flatMap((room, r) => answers[r].openings.map((o) => [room.name, o.kind, o.from, o.to])));
  if (!bars.length) {
    showMessage(openingsChart, texts.no_data);
    return;
  }
  draw(openingsChart, texts.openings_title, {
    tooltip: {
      formatter: (p) => lanes[p.value[0]] + "<br>" + wallText(p.value[1]) + " – " + wallText(p.value[2]),
    },
    grid: { left: 180, right: 30, top: 20, bottom: 40 },
    dataZoom: [{ type: "inside", filterMode: "weakFilter" }],
    xAxis: { type: "time", min: wall(period.from), max: wall(period.to) },
    yAxis: { type: "category", data: lanes },
    series: [{
      type: "custom",
      encode: { x: [1, 2], y: 0 },
      data: bars,
      renderItem: (params, api) => {
        const start = api.coord([api.value(1), api.value(0)]);
        const end = api.coord([api.value(2), api.value(0)]);
        const height = api.size([0, 1])[1] * 0.6;
        return { type: "rect", shape: { x: start[0], y: start[1] - height / 2, width: Math.max(end[0] - start[0], 2), height }, style: api.style() };
      },
    }],
  });
}

// Presence, as the API gives it: per room and period, the minutes someone was there and the minutes measured.
async function presenceCharts() {
  const ids = ["occupancy-chart", "usage-chart", "hours-chart", "presence-forecast-chart"];
  const [timeline, usage, hours, forecast] = ids.map(chartIn);
  const now = Date.parse(config.now);
  let answer, hourly, daily, predicted;
  try {
    [answer, hourly, daily, predicted] = await Promise.all([
      fetchJson(apiUrl("/api/presence", {})),
      fetchJson(apiUrl("/api/presence", { grain: "hour" })).catch(() => ({ points: [] })),  // a long period: no hours
      fetchJson(apiUrl("/api/presence", { grain: "day" })),
      fetchJson(apiUrl("/api/predictions", { from: iso(now), to: iso(now + 24 * 3600 * 1000), model: "presence" })),
    ]);
  } catch (error) {
    [timeline, usage, hours, forecast].forEach((chart) => showMessage(chart, texts.failed));
    return;
  }
  if (!answer) return;
  const roomName = Object.fromEntries(config.rooms.map((r) => [r.room, r.name]));
  const share = (p) => (p.minutes ? p.present_minutes / p.minutes : null);
  // occupancy by room over time: one row per room, the share of each period someone was there
  const periods = [...new Set(answer.points.map((p) => p.ts))].sort();
  const rooms = [...new Set(answer.points.map((p) => p.room))];
  offerCsv("occupancy-chart", ["ts", texts.room, "present_minutes", "minutes"],
    answer.points.map((p) => [p.ts, roomName[p.room], p.present_minutes, p.minutes]));
  if (!answer.points.length) showMessage(timeline, texts.no_data);
  else draw(timeline, texts.occupancy_title, {
    tooltip: { formatter: (p) => roomName[rooms[p.value[1]]] + "<br>" + periods[p.value[0]] + ": " + number(p.value[2] * 100, 0) + " %" },
    grid: { left: 120, right: 30, top: 10, bottom: 70 },
    xAxis: { type: "category", data: periods, axisLabel: { formatter: (v) => v.slice(5, 16).replace("T", " ") } },
    yAxis: { type: "category", data: rooms.map((r) => roomName[r]) },
    visualMap: { min: 0, max: 1, orient: "horizontal", left: "center", bottom: 0, calculable: false, text: ["100 %", "0 %"],
      inRange: { color: ["#f7fbff", "#0072B2"] } },
    dataZoom: [{ type: "inside" }],
    series: [{ name: texts.occupied_share, type: "heatmap",
      data: answer.points.map((p) => [periods.indexOf(p.ts), rooms.indexOf(p.room), share(p)]) }],
  });
  // usage by hour of the day and weekday, all rooms together, from the hours of the period (local time)
  const cells = {};
  hourly.points.forEach((p) => {
    const [y, m, d] = p.ts.slice(0, 10).split("-").map(Number);
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;  // Monday first, as CLDR's list
    const key = weekday + "," + Number(p.ts.slice(11, 13));
    cells[key] = cells[key] || [0, 0];
    cells[key][0] += p.present_minutes;
    cells[key][1] += p.minutes;
  });
  const grid = Object.entries(cells).map(([key, [present, minutes]]) => {
    const [weekday, hour] = key.split(",").map(Number);
    return [hour, weekday, minutes ? present / minutes : null];
  });
  offerCsv("usage-chart", ["weekday", "hour", "share"], grid.map(([h, w, v]) => [config.weekdays[w], h, v]));
  if (!grid.length) showMessage(usage, texts.no_data);
  else draw(usage, texts.heatmap_title, {
    tooltip: { formatter: (p) => config.weekdays[p.value[1]] + " " + p.value[0] + ":00 · " + number(p.value[2] * 100, 0) + " %" },
    grid: { left: 60, right: 30, top: 10, bottom: 70 },
    xAxis: { type: "category", data: [...Array(24).keys()].map(String) },
    yAxis: { type: "category", data: config.weekdays, inverse: true },
    visualMap: { min: 0, max: 1, orient: "horizontal", left: "center", bottom: 0, text: ["100 %", "0 %"],
      inRange: { color: ["#fff7ec", "#D55E00"] } },
    series: [{ name: texts.occupied_share, type: "heatmap", data: grid }],
  });
  // occupied hours per room and day
  const days = [...new Set(daily.points.map((p) => p.ts.slice(0, 10)))].sort();
  offerCsv("hours-chart", ["day", texts.room, "hours"], daily.points.map((p) => [p.ts.slice(0, 10), roomName[p.room], p.present_minutes / 60]));
  if (!daily.points.length) showMessage(hours, texts.no_data);
  else draw(hours, texts.hours_title, {
    tooltip: { trigger: "axis", valueFormatter: (v) => number(v, 1) },
    legend: { top: 0, type: "scroll" },
    grid: { left: 60, right: 30, top: 40, bottom: 40 },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", name: texts.hours, axisLabel: { formatter: (v) => number(v, 0) } },
    series: rooms.map((room) => ({ name: roomName[room], type: "bar",
      data: days.map((day) => { const p = daily.points.find((q) => q.room === room && q.ts.startsWith(day)); return p ? p.present_minutes / 60 : null; }) })),
  });
  // the presence forecast, per room
  const byRoom = {};
  predicted.points.forEach((p) => (byRoom[p.room] = byRoom[p.room] || []).push([wall(p.ts), p.value]));
  offerCsv("presence-forecast-chart", ["ts", texts.room, "probability"], predicted.points.map((p) => [p.ts, roomName[p.room], p.value]));
  if (!predicted.points.length) showMessage(forecast, texts.no_data);
  else draw(forecast, texts.presence_forecast_title, {
    tooltip: { trigger: "axis", valueFormatter: (v) => number(v * 100, 0) + " %" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 60, right: 30, top: 40, bottom: 40 },
    xAxis: { type: "time" },
    yAxis: { type: "value", name: texts.probability, min: 0, max: 1, axisLabel: { formatter: (v) => number(v * 100, 0) + " %" } },
    series: Object.entries(byRoom).map(([room, data]) => ({ name: roomName[room] || room, type: "line", showSymbol: false, step: "end", data })),
  });
}

// The battery: the last day's schedule of the period (what the controller sends), and every day's savings.
async function batteryCharts() {
  const plan = chartIn("plan-chart");
  const savings = chartIn("savings-chart");
  let days, schedule;
  try {
    const lastDay = new Date(Date.parse(config.dayAfter) - 12 * 3600 * 1000).toISOString().slice(0, 10);
    days = await fetchJson("/api/schedules?" + new URLSearchParams({ apartment: config.apartment, from: config.firstDay, to: lastDay }));
    if (days && days.days.length) schedule = await fetchJson("/api/schedule/" + encodeURIComponent(days.days[days.days.length - 1].schedule_id));
  } catch (error) {
    showMessage(plan, texts.failed);
    showMessage(savings, texts.failed);
    return;
  }
  if (!days) return;
  offerCsv("savings-chart", ["day", "cost_rule_based_chf", "cost_sent_chf", "savings_pct"],
    days.days.map((d) => [d.day, d.cost_rule_based_chf, d.cost_sent_chf, d.savings_vs_rule_based_pct]));
  if (!schedule) {
    showMessage(plan, texts.no_schedule);
    showMessage(savings, texts.no_schedule);
    return;
  }
  const kpis = document.getElementById("battery-kpis");
  [[texts.cost_sent, chf(schedule.cost_sent_chf)], [texts.cost_rule, chf(schedule.cost_rule_based_chf)],
    [texts.saved, number(schedule.savings_vs_rule_based_pct, 1) + " %"]].forEach(([term, value]) => {
    const item = document.createElement("div");
    item.innerHTML = "<dt></dt><dd></dd>";
    item.querySelector("dt").textContent = term;
    item.querySelector("dd").textContent = value;
    kpis.appendChild(item);
  });
  const slots = schedule.slots;
  offerCsv("plan-chart", ["slot_start", "battery_charge_kw", "battery_discharge_kw", "soc", "grid_import_kw", "pv_used_kw"],
    slots.map((s) => [s.slot_start, s.battery_charge_kw, s.battery_discharge_kw, s.soc, s.grid_import_kw, s.pv_used_kw]));
  draw(plan, texts.plan_title, {
    tooltip: { trigger: "axis", valueFormatter: (v) => number(v, 2) },
    legend: { top: 0, type: "scroll" },
    grid: { left: 60, right: 60, top: 50, bottom: 40 },
    xAxis: { type: "time", name: texts.time },
    yAxis: [
      { type: "value", name: texts.kw, axisLabel: { formatter: (v) => number(v, 1) } },
      { type: "value", name: "%", min: 0, max: 100, axisLabel: { formatter: (v) => number(v, 0) } },
    ],
    series: [
      { name: texts.charge, type: "bar", stack: "battery", data: slots.map((s) => [wall(s.slot_start), s.battery_charge_kw]) },
      { name: texts.discharge, type: "bar", stack: "battery", data: slots.map((s) => [wall(s.slot_start), -s.battery_discharge_kw]) },
      { name: texts.grid_import, type: "line", step: "start", showSymbol: false, data: slots.map((s) => [wall(s.slot_start), s.grid_import_kw]) },
      { name: texts.pv_used, type: "line", step: "start", showSymbol: false, data: slots.map((s) => [wall(s.slot_start), s.pv_used_kw]) },
      { name: texts.soc, type: "line", yAxisIndex: 1, showSymbol: false, data: slots.map((s) => [wall(s.slot_start), s.soc * 100]) },
    ],
  });
  draw(savings, texts.savings_title, {
    tooltip: { trigger: "axis", valueFormatter: (v) => number(v, 1) + " %" },
    grid: { left: 60, right: 30, top: 20, bottom: 40 },
    xAxis: { type: "category", data: days.days.map((d) => d.day) },
    yAxis: { type: "value", name: "%", minInterval: 1, axisLabel: { formatter: (v) => number(v, 0) } },
    series: [{ name: texts.saved, type: "bar", data: days.days.map((d) => d.savings_vs_rule_based_pct) }],
  });
}

document.querySelectorAll("button.csv").forEach((button) =>
  button.addEventListener("click", () => downloadCsv(button.dataset.chart)));
// A preset and custom days exclude each other: typing a day clears the preset.
document.querySelectorAll("input[type=date]").forEach((input) =>
  input.addEventListener("change", () => document.querySelectorAll("input[name=range]").forEach((r) => (r.checked = false))));

if (document.getElementById("energy-chart")) {
  energyChart(null);
  zoomable([chartIn("energy-chart")], () => shown["energy-chart"], energyChart);
}
if (document.getElementById("devices-chart")) {
  deviceCharts(null);
  zoomable([chartIn("devices-chart")], () => shown["devices-chart"], deviceCharts);
}
if (document.getElementById("forecast-chart")) forecastChart();
if (document.getElementById("temperature-chart")) {
  environmentCharts(null);
  const climate = METRICS.map((m) => chartIn(m.id));
  echarts.connect(climate);
  zoomable(climate, () => shown.environment, environmentCharts);
}
if (document.getElementById("occupancy-chart")) presenceCharts();
if (document.getElementById("plan-chart")) batteryCharts();
