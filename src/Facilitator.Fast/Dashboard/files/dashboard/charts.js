// Time-series charts drawn by uPlot (loaded from the binary, pinned by the build's lockfile): rates over the last
// minutes in 5 s buckets, and revenue by day.

export const bucketSeconds = 5;
const windowBuckets = 120;

/** Counts per 5 s bucket for a few series, over the last ten minutes. */
export class RateWindow {
  constructor(seriesCount) {
    this.seriesCount = seriesCount;
    this.buckets = new Map();
    this.gauges = new Set();
  }

  /** Adds n to a series in the bucket of a time (ms). */
  add(series, timestampMs, n = 1) {
    this.bucket(timestampMs)[series] += n;
  }

  /** A series that holds a value (the latest in its bucket) rather than a count. */
  set(series, timestampMs, value) {
    this.gauges.add(series);
    this.bucket(timestampMs)[series] = value;
  }

  bucket(timestampMs) {
    const start = Math.floor(timestampMs / 1000 / bucketSeconds) * bucketSeconds;
    let counts = this.buckets.get(start);
    if (!counts) {
      counts = new Array(this.seriesCount).fill(0);
      this.buckets.set(start, counts);
    }
    return counts;
  }

  /** uPlot's data: bucket starts (s) and each series per second (gauges as they are), oldest first. */
  data(nowMs) {
    const last = Math.floor(nowMs / 1000 / bucketSeconds) * bucketSeconds;
    const first = last - (windowBuckets - 1) * bucketSeconds;
    for (const start of this.buckets.keys()) {
      if (start < first) {
        this.buckets.delete(start);
      }
    }
    const xs = [];
    const ys = Array.from({ length: this.seriesCount }, () => []);
    for (let start = first; start <= last; start += bucketSeconds) {
      xs.push(start);
      const counts = this.buckets.get(start);
      for (let i = 0; i < this.seriesCount; i++) {
        const value = counts ? counts[i] : 0;
        ys[i].push(this.gauges.has(i) ? (counts ? value : null) : value / bucketSeconds);
      }
    }
    return [xs, ...ys];
  }
}

const palette = ["#1a7f37", "#cf222e", "#8250df", "#0969da", "#9a6700"];

function headroom(max) {
  return max > 0 ? max * 1.15 : 1;
}

function widthOf(element) {
  return Math.max(300, element.clientWidth || 360);
}

/** A line chart of rates; a series given as { label, scale: "count" } is drawn against a second axis. */
export function rateChart(element, labels) {
  const series = [{}];
  labels.forEach((label, i) => {
    const spec = typeof label === "string" ? { label } : label;
    series.push({ label: spec.label, stroke: palette[i % palette.length], width: 1.5, scale: spec.scale ?? "rate", spanGaps: spec.scale === "count" });
  });
  const hasCount = series.some((s) => s.scale === "count");
  const axes = [{}, { scale: "rate", label: "per second", size: 50 }];
  if (hasCount) {
    axes.push({ scale: "count", side: 1, label: "open", grid: { show: false }, size: 50 });
  }
  const chart = new uPlot(
    { width: widthOf(element), height: 200, series, axes, scales: { x: { time: true }, rate: { range: (_, min, max) => [0, Math.max(1, max)] } }, legend: { live: false } },
    [[], ...labels.map(() => [])],
    element);
  addEventListener("resize", () => chart.setSize({ width: widthOf(element), height: 200 }));
  return chart;
}

/** Revenue by day: US-dollar volume as bars, payments as a line on a second axis. */
export function revenueChart(element) {
  const chart = new uPlot(
    {
      width: widthOf(element),
      height: 220,
      series: [
        {},
        { label: "volume $", stroke: "#0969da", fill: "rgba(9,105,218,.25)", scale: "usd", paths: uPlot.paths.bars({ size: [0.6, 40] }) },
        { label: "payments", stroke: "#8250df", width: 1.5, scale: "count" },
      ],
      axes: [{}, { scale: "usd", label: "US dollars", size: 60 }, { scale: "count", side: 1, grid: { show: false }, size: 50 }],
      scales: { x: { time: true, range: (_, min, max) => [min - 43200, max + 43200] }, usd: { range: (_, min, max) => [0, headroom(max)] }, count: { range: (_, min, max) => [0, headroom(max)] } },
      legend: { live: false },
    },
    [[], [], []],
    element);
  addEventListener("resize", () => chart.setSize({ width: widthOf(element), height: 220 }));
  return chart;
}
