// Structured JSON logging (pino) to stderr, shared by every Shardis process.
import pino from 'pino';

export type Logger = pino.Logger;

export function makeLogger(name: string, level = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
