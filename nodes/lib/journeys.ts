// Feeds the core journey tracker (core/journey/tracker.ts) from Node-RED's message hooks, for
// every source that settles its input only when the flow is finished with it (qumulo-watch,
// qumulo-redis-in). One set of hooks for the whole runtime, installed on first use.
//
// What the runtime does not say, and how it is found out (node-red 4.1 / 5.0 Node.js, Flow.js):
// - A send to a node that a deploy removed or is replacing is dropped before preDeliver: every
//   send is counted at onSend, confirmed at preDeliver (same tick), and a microtask later the
//   tracker reports any unconfirmed send as dropped.
// - A delivery reaches a node object that has been stopped: onReceive still fires, but no input
//   handler runs once its close has finished.
// - A node being stopped may call done() for messages it drops (the core delay node does, from its
//   close handler): a done() from a stopped node counts only when it comes from inside its input
//   handler.
// - A stopped node's queued messages (delay, join…) vanish: after each deploy ('flows:started')
//   journeys with work at a node that no longer runs are swept.
// - Some nodes send new messages for the one they handle (split gives each part a new _msgid and
//   deletes the original's): a message a node sends while its handler runs for a tracked message
//   joins that message's journey, and done() is matched by the message object, not its id.
// - A one- or two-argument input handler never calls done(), and may send after it returned (the
//   core switch queues bursts): the tracker finishes its messages when it sends them (or a later
//   one) on, or once it has been quiet for LEGACY_QUIET_MS.

import { randomBytes } from 'node:crypto';
import type { Node, NodeAPI } from 'node-red';
import { JourneyTracker } from '../../core/journey/tracker';
import { onFlowLifecycle } from './lifecycle';

export type { JourneyEnd, JourneyEnding } from '../../core/journey/tracker';

/** What the hooks see of a node: the runtime's Node object (fields read defensively). */
interface RuntimeNode {
  id: string;
  type?: string;
  _inputCallback?: unknown;
  _inputCallbacks?: unknown[] | null;
  _expectedDoneCount?: number;
}

interface HookMessage {
  _msgid?: string;
}
interface SendEvent {
  msg: HookMessage;
  source?: { id: string; node?: RuntimeNode };
  destination: { id: string; node?: RuntimeNode };
}
interface ReceiveEvent {
  msg: HookMessage;
  destination: { id: string; node: RuntimeNode };
}
interface CompleteEvent {
  msg: HookMessage;
  node: { id: string; node?: RuntimeNode };
  error?: unknown;
}
interface RuntimeHooks {
  add(hookId: string, callback: (event: never) => unknown): void;
  remove(hookId: string): void;
}

/** The process-wide tracker; handles are whatever each source needs to settle its input. */
export const journeys = new JourneyTracker<unknown, RuntimeNode>();

/** The input handlers running right now (receive → postReceive), innermost last. */
const handlingNodes: RuntimeNode[] = [];
const handlingIds: Array<string | undefined> = [];
/** Tracked messages by object, for done() of a message whose _msgid the node deleted (split). */
const trackedObjects = new WeakMap<object, string>();
const MAX_HANDLING_DEPTH = 64;

let users = 0;
let label = '';
/** The label of the hooks installed now; '' when none are. */
let installedLabel = '';
let generation = 0;
let lifecycleInstalled = false;
let quietTimer: NodeJS.Timeout | null = null;
/** A node that cannot report completion and received or sent nothing for this long is done with what it holds. */
const LEGACY_QUIET_MS = 500;
let deploying = false;
let runtime: NodeAPI | null = null;

/**
 * The runtime's hooks API. Node-RED passes it as RED.hooks; node-red-node-test-helper's RED lacks
 * it, but the runtime's flows use @node-red/util's singleton, which is the same object.
 */
function runtimeHooks(RED: NodeAPI): RuntimeHooks {
  const fromRed = (RED as unknown as { hooks?: RuntimeHooks }).hooks;
  if (fromRed && typeof fromRed.add === 'function') return fromRed;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@node-red/util') as { hooks: RuntimeHooks }).hooks;
}

/** Whether this node object is the one the runtime runs under its id (not a stopped one). */
function isRunning(node: RuntimeNode): boolean {
  const current = runtime?.nodes.getNode(node.id) as unknown;
  return current === node;
}

/**
 * Whether delivering to this node object runs an input handler: a node a deploy is stopping keeps
 * its handlers until its close finishes; after that a delivery to it goes nowhere.
 */
function acceptsInput(node: RuntimeNode): boolean {
  return Boolean(node._inputCallback) || (Array.isArray(node._inputCallbacks) && node._inputCallbacks.length > 0);
}

function reportsCompletion(node: RuntimeNode): boolean {
  return (node._expectedDoneCount ?? 0) > 0;
}

/** Installs the hooks on first use (reference-counted with releaseJourneyHooks). */
export function acquireJourneyHooks(RED: NodeAPI): void {
  runtime = RED;
  if (users++ > 0 || installedLabel !== '') return; // still installed (a deploy restarting the sources)
  const hooks = runtimeHooks(RED);
  label = `qumuloFlowJourneys${++generation}`;
  installedLabel = label;
  // Sync one-argument hooks returning undefined: the message always continues, and the runtime
  // routes in the same tick (so the routing check a microtask later is sound).
  hooks.add(`onSend.${label}`, ((events: SendEvent[]) => {
    const depth = handlingNodes.length;
    for (const event of events) {
      const id = event.msg?._msgid;
      if (id === undefined) continue;
      if (!journeys.routed(id) && depth > 0) {
        // A new message sent by a handler running for a tracked one (split parts, join results).
        const parent = handlingIds[depth - 1];
        if (parent !== undefined && handlingNodes[depth - 1] === event.source?.node && journeys.adopt(id, parent)) journeys.routed(id);
      }
    }
    // After counting the sends: a node that cannot report completion is done with what it sent.
    for (const event of events) {
      const id = event.msg?._msgid;
      const source = event.source?.node;
      if (id !== undefined && source) journeys.sent(id, source);
    }
  }) as (event: never) => unknown);
  hooks.add(`preDeliver.${label}`, ((event: SendEvent) => {
    const id = event.msg?._msgid;
    if (id !== undefined && event.destination.node) journeys.scheduled(id, event.destination.node);
  }) as (event: never) => unknown);
  hooks.add(`onReceive.${label}`, ((event: ReceiveEvent) => {
    const node = event.destination.node;
    let id = event.msg?._msgid;
    if (id !== undefined && journeys.has(id)) {
      trackedObjects.set(event.msg, id);
      journeys.received(id, node, acceptsInput(node), node.type === 'catch', reportsCompletion(node));
    } else {
      id = undefined;
    }
    // Handlers nest only through direct receive() calls (Catch, link call): a deep stack means
    // some hook halted a message before postReceive; start over rather than grow.
    if (handlingNodes.length >= MAX_HANDLING_DEPTH) {
      handlingNodes.length = 0;
      handlingIds.length = 0;
    }
    handlingNodes.push(node);
    handlingIds.push(id);
  }) as (event: never) => unknown);
  hooks.add(`postReceive.${label}`, ((event: ReceiveEvent) => {
    const node = event.destination.node;
    // Pop this node's frame (and any a hook left unbalanced above it).
    for (let i = handlingNodes.length - 1; i >= 0; i--) {
      if (handlingNodes[i] !== node) continue;
      handlingNodes.length = i;
      handlingIds.length = i;
      break;
    }
  }) as (event: never) => unknown);
  hooks.add(`onComplete.${label}`, ((event: CompleteEvent) => {
    if (!event.node.node || !event.msg) return;
    const id = trackedObjects.get(event.msg) ?? event.msg._msgid;
    if (id === undefined) return;
    // A stopped node finishing a message inside its input handler did the work (a sink that
    // records and calls done()); outside it, it may be dropping it (delay's close handler).
    const node = event.node.node;
    const inHandler = handlingNodes.length > 0 && handlingNodes[handlingNodes.length - 1] === node;
    // Outside a deploy every node that completes is running (the lookup is only needed while one runs).
    journeys.completed(id, node, event.error, inHandler || !deploying || isRunning(node));
  }) as (event: never) => unknown);
  installLifecycle(RED);
  quietTimer = setInterval(() => journeys.releaseQuiet(LEGACY_QUIET_MS, isRunning), LEGACY_QUIET_MS / 2);
  quietTimer.unref();
}

/**
 * Once per process, before any source subscribes its own lifecycle handlers (so the sweep after
 * a deploy runs before they resume sending).
 */
function installLifecycle(RED: NodeAPI): void {
  if (lifecycleInstalled) return;
  lifecycleInstalled = true;
  onFlowLifecycle(RED.events, {
    stopping: () => {
      deploying = true;
    },
    started: () => {
      journeys.sweep(isRunning);
      deploying = false;
    },
  });
}

/** True from 'flows:stopping' until the deploy's flows have started and cut journeys are swept. */
export function isDeploying(): boolean {
  return deploying;
}

/**
 * The last source closed: remove the hooks once no journey is left (a deploy that restarts the
 * sources must not blind the journeys still in flight: they are what the sweep checks).
 */
export function releaseJourneyHooks(RED: NodeAPI): void {
  if (users === 0) return;
  if (--users > 0) return;
  const removeWhenIdle = (): void => {
    if (users > 0 || installedLabel !== label) return; // taken again meanwhile
    if (journeys.size > 0) {
      setTimeout(removeWhenIdle, 1000).unref();
      return;
    }
    runtimeHooks(RED).remove(`*.${label}`);
    installedLabel = '';
    if (quietTimer) clearInterval(quietTimer);
    quietTimer = null;
  };
  removeWhenIdle();
}

/** Whether `node` has anything wired to its outputs (to output `port` only, when given). */
export function hasWires(node: Node, port?: number): boolean {
  const wires = (node as unknown as { wires?: string[][] }).wires;
  if (port !== undefined) return (wires?.[port]?.length ?? 0) > 0;
  return wires?.some((targets) => targets.length > 0) ?? false;
}

/**
 * Message ids like Node-RED's own (16 hex digits) for a source's messages, from a random prefix
 * and a counter: RED.util.generateId() builds each from 8 random bytes, a visible cost per message.
 */
export function messageIds(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  return () => {
    counter = (counter + 1) >>> 0;
    return prefix + counter.toString(16).padStart(8, '0');
  };
}
