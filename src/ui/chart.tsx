// A uPlot time-series chart (one line) that is created once and only fed new data afterwards, so
// refreshes do not rebuild the canvas or grow the page's memory.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartProps {
  title: string;
  /** Unix seconds. */
  xs: number[];
  ys: Array<number | null>;
  unit: string;
  color: string;
  testId: string;
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const width = Math.max(260, el.clientWidth || 480);
    plot.current = new uPlot(
      {
        width,
        height: 170,
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [
          { stroke: '#c9d1d9', grid: { stroke: '#30363d' }, ticks: { stroke: '#30363d' } },
          {
            stroke: '#c9d1d9',
            grid: { stroke: '#30363d' },
            ticks: { stroke: '#30363d' },
            size: 60,
            values: (_u, v) => v.map((x) => `${x}${p.unit}`),
          },
        ],
        series: [{}, { label: p.title, stroke: p.color, width: 2, fill: `${p.color}22`, spanGaps: false, points: { show: false } }],
      },
      [p.xs, p.ys],
      el,
    );
    const onResize = (): void => {
      plot.current?.setSize({ width: Math.max(260, el.clientWidth), height: 170 });
    };
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData([p.xs, p.ys]);
  }, [p.xs, p.ys]);
  const last = p.ys[p.ys.length - 1];
  return (
    <figure class="chart" data-testid={p.testId}>
      <figcaption>
        {p.title} <b>{last === null || last === undefined ? '–' : `${last}${p.unit}`}</b> <span class="muted">last 15 min</span>
      </figcaption>
      <div ref={box} />
    </figure>
  );
}
