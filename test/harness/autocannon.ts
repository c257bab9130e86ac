// autocannon ships no type declarations: the slice the load runners use, typed once. It is loaded
// through a string, so that TypeScript does not look for the declarations it lacks.
export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: RequestSpec) => RequestSpec;
}

export interface AutocannonOptions extends RequestSpec {
  url: string;
  connections: number;
  duration: number;
  requests?: RequestSpec[];
  overallRate?: number;
  ignoreCoordinatedOmission?: boolean;
  timeout?: number;
}

export interface Histogram {
  average: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface AutocannonResult {
  duration: number;
  requests: Histogram;
  latency: Histogram;
  statusCodeStats?: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  non2xx: number;
}

const AUTOCANNON: string = 'autocannon';
export const autocannon = ((await import(AUTOCANNON)) as { default: (opts: AutocannonOptions) => Promise<AutocannonResult> }).default;
