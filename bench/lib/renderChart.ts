// Renders a chart.js configuration to PNG in node: chart.js draws on an @napi-rs/canvas canvas
// (chart.js falls back to its DOM-less platform when there is no window), on a white background.
import { createCanvas } from '@napi-rs/canvas';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  type ChartConfiguration,
  type ChartType,
  type Plugin,
} from 'chart.js';
import { chartFontFamily } from './chartFont';

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Title);

export interface PngOptions {
  /** Layout size in CSS pixels; the PNG is scale times larger. */
  width?: number;
  height?: number;
  /** Pixel density: 2 keeps text and lines sharp when a viewer scales the image down. */
  scale?: number;
  background?: string;
}

function backgroundPlugin(color: string): Plugin {
  return {
    id: 'qpBackground',
    beforeDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.fillStyle = color;
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    },
  };
}

export function renderChartPng<T extends ChartType, D, L>(config: ChartConfiguration<T, D, L>, opts: PngOptions = {}): Buffer {
  const width = opts.width ?? 900;
  const height = opts.height ?? 540;
  const scale = opts.scale ?? 2;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 120 || width > 4096 || height > 4096) {
    throw new RangeError(`chart size must be integers in 160..4096 x 120..4096, got ${width}x${height}`);
  }
  if (!(scale > 0 && scale <= 4)) throw new RangeError(`chart scale must be in (0, 4], got ${scale}`);
  Chart.defaults.font.family = chartFontFamily();
  const canvas = createCanvas(width, height);
  const chart = new Chart(canvas as unknown as ConstructorParameters<typeof Chart>[0], {
    ...config,
    options: { ...config.options, animation: false, responsive: false, devicePixelRatio: scale },
    plugins: [backgroundPlugin(opts.background ?? '#ffffff'), ...(config.plugins ?? [])],
  } as ChartConfiguration<T, D, L>);
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}
