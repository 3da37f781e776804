import type { ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { stopSending } from './grpc-message-budget.js';

/** The model name and version a message's bytes were found to carry; `version` undefined where none was found (yet). */
export interface MessageHead {
  name: string;
  version: string | undefined;
}

/** Bytes of the gRPC message prefix: a compression flag and the message's length (4 bytes, big-endian). */
const PREFIX_BYTES = 5;

/**
 * The longest model name or version read here: far past any model name or run id. A longer name is left to the handler
 * (which reads it whole, as before) rather than buffered here; a longer version is passed over as not found.
 */
const MOST_NAME_BYTES = 1024;

/**
 * The most top-level fields looked at for the name: past an id and the 64 parameters a request may have
 * (MAX_PARAMETERS), which some clients put first. A message with more before its name is left to the handler.
 */
const MOST_FIELDS = 128;

/** ModelInferRequest's model_name (field 1) and model_version (field 2), both length-delimited. */
const MODEL_NAME_FIELD = 1;
const MODEL_VERSION_FIELD = 2;
const LENGTH_DELIMITED = 2;

/** Where a scan is in the message: a field's tag, its length, a varint field's bytes, bytes passed over, a name's bytes. */
const Phase = { Tag: 0, Length: 1, Varint: 2, Skip: 3, Text: 4 } as const;

/** The bytes of a varint at most: a tag or length 5 (32 bits), a varint field's value 10. */
const TAG_BYTES = 5;
const VARINT_BYTES = 10;

export interface ModelNameScan {
  /**
   * Reads the message's next bytes, `chunk` from `from` (those past the message's end are not its): the model name and
   * version found in all bytes read so far once the name is (`version` undefined when not found in them), with the
   * field after the name begun and any version begun read whole; 'more' while it is not; undefined when the bytes
   * cannot tell it here (no name in the whole message, or not within MOST_FIELDS fields, a name past MOST_NAME_BYTES,
   * bytes before the name that are no valid message), which the decoded message tells.
   */
  read(chunk: Buffer, from?: number): MessageHead | 'more' | undefined;
}

/**
 * A scan of a ModelInferRequest of `messageBytes` for its model_name and model_version, as its bytes arrive: its
 * top-level fields in whatever order they come (protobuf allows any, and some clients put the id or parameters first).
 * A field not needed is passed over by its length as its bytes go by, never held; only a name's or version's bytes
 * are (at most MOST_NAME_BYTES each). A field given twice is read as protobuf reads it, the last one, among those read.
 */
export function scanModelName(messageBytes: number): ModelNameScan {
  let at = 0;
  let fields = 0;
  let phase: (typeof Phase)[keyof typeof Phase] = Phase.Tag;
  let varint = 0;
  let varintBytes = 0;
  let field = 0;
  let left = 0;
  let text: Buffer | undefined;
  let textFilled = 0;
  let name: string | undefined;
  let version: string | undefined;
  // Fields begun after the name was found: the one right after it is awaited, as the version may be it (an encoder writes
  // it there), and so is a version begun.
  let tagsAfterName = 0;
  let over = false;
  const found = (value: string): void => {
    if (field !== MODEL_NAME_FIELD) version = value;
    else {
      name = value;
      tagsAfterName = 0;
    }
  };
  // Bytes past the name that are no valid message leave it as found: the name is what the client asked for.
  const result = (): MessageHead | 'more' | undefined => {
    if (name === undefined) return over ? undefined : 'more';
    const awaited = !over && ((phase === Phase.Tag && tagsAfterName === 0) || (field === MODEL_VERSION_FIELD && (phase === Phase.Length || phase === Phase.Text)));
    return awaited ? 'more' : { name, version };
  };
  return {
    read(chunk, from = 0) {
      if (over) return result();
      let i = from;
      const end = Math.min(chunk.length, from + messageBytes - at);
      while (i < end) {
        if (phase === Phase.Skip) {
          const passed = Math.min(left, end - i);
          i += passed;
          left -= passed;
          if (left === 0) phase = Phase.Tag;
          continue;
        }
        if (phase === Phase.Text) {
          const copied = chunk.copy(text!, textFilled, i, Math.min(end, i + left));
          i += copied;
          textFilled += copied;
          left -= copied;
          if (left === 0) {
            found(text!.toString('utf8'));
            text = undefined;
            phase = Phase.Tag;
            if (name !== undefined && version !== undefined) {
              over = true;
              break;
            }
          }
          continue;
        }
        const byte = chunk[i++];
        varint += (byte & 0x7f) * 2 ** (7 * varintBytes++);
        if (byte >= 0x80) {
          if (varintBytes === (phase === Phase.Varint ? VARINT_BYTES : TAG_BYTES)) {
            over = true;
            break;
          }
          continue;
        }
        const value = varint;
        varint = 0;
        varintBytes = 0;
        if (phase === Phase.Varint) {
          phase = Phase.Tag;
        } else if (phase === Phase.Tag) {
          if (++fields > MOST_FIELDS) {
            over = true;
            break;
          }
          tagsAfterName++;
          field = Math.floor(value / 8);
          const wireType = value % 8;
          if (field === 0 || ((field === MODEL_NAME_FIELD || field === MODEL_VERSION_FIELD) && wireType !== LENGTH_DELIMITED)) {
            over = true;
            break;
          }
          if (wireType === LENGTH_DELIMITED) phase = Phase.Length;
          else if (wireType === 0) phase = Phase.Varint;
          else if (wireType === 1 || wireType === 5) {
            left = wireType === 1 ? 8 : 4;
            phase = Phase.Skip;
          } else {
            // A group (3, 4), which this message has none of, or no wire type at all.
            over = true;
            break;
          }
        } else {
          // A length: the field's bytes end inside the message, or it is no valid message.
          if (value > messageBytes - (at + i - from)) {
            over = true;
            break;
          }
          const named = field === MODEL_NAME_FIELD || field === MODEL_VERSION_FIELD;
          if (named && value > MOST_NAME_BYTES) {
            if (field === MODEL_NAME_FIELD) {
              name = undefined;
              over = true;
              break;
            }
            version = undefined;
          }
          if (value === 0) {
            if (named) found('');
            phase = Phase.Tag;
          } else if (named && value <= MOST_NAME_BYTES && end - i >= value) {
            // Whole in this chunk, as it nearly always is: read in place.
            found(chunk.toString('utf8', i, i + value));
            i += value;
            phase = Phase.Tag;
          } else if (named && value <= MOST_NAME_BYTES) {
            text = Buffer.allocUnsafe(value);
            textFilled = 0;
            left = value;
            phase = Phase.Text;
          } else {
            left = value;
            phase = Phase.Skip;
          }
        }
        if (name !== undefined && version !== undefined) {
          over = true;
          break;
        }
      }
      at += i - from;
      if (at === messageBytes) over = true;
      return result();
    },
  };
}

export interface GrpcMessageHeadOptions {
  /** The method whose message names a model (ModelInfer's). */
  path: string;
  /** grpc.max_receive_message_length: a message announced past it is grpc-js's to refuse (FLTS_REQUEST_TOO_LARGE). */
  maxMessageBytes: number;
  /** Throws the coded refusal of a name and version not served (`version` undefined: not known yet). */
  check(name: string, version: string | undefined): void;
  /** The HTTP/2 stream of a call, as the interceptor before this one returned it. */
  streamOf(call: object): ServerHttp2Stream | undefined;
  /** Ends a call refused, coded and counted as its handler's refusals are; `started` is when it arrived. */
  refuse(path: string, call: grpc.ServerInterceptingCallInterface, error: unknown, started: number): void;
}

export interface GrpcMessageHead {
  readonly interceptor: grpc.ServerInterceptor;
  /** The HTTP/2 stream of a call, as `interceptor` returned it to the interceptor after it (undefined where unknown). */
  streamOf(call: object): ServerHttp2Stream | undefined;
}

/**
 * Refuses a ModelInfer for a model or version not served as the bytes of its message that name them arrive, as the
 * HTTP route refuses one from its path before reading the body: the name is inside the message, which grpc-js reads
 * whole (up to the message limit) before any handler sees it, so a client calling a model not served sent all of it to
 * be told so. The bytes are read off the call's HTTP/2 stream by a listener put before grpc-js's (`scanModelName`,
 * wherever in the message the name is), which lets go of the stream at the end of the chunk the name is found in, the
 * version read if it is there too; a call refused is answered at once (NOT_FOUND FLTS_REQUEST_ROUTE_NOT_FOUND, as its
 * handler answers it) and its stream reset behind the answer, so that its client stops sending. A compressed message,
 * one whose name the scan cannot tell, and a version not in the bytes read with the name, are checked by the handler
 * once decoded, as before; so is a call whose stream is not known.
 */
export function createGrpcMessageHead(options: GrpcMessageHeadOptions): GrpcMessageHead {
  // The call is handed on as it came, its stream known as it was: this reads the stream, none of the call's events (a
  // layer of ServerInterceptingCall costs each of them a pass). The interceptors before this one return
  // ServerInterceptingCalls, which grpc-js's type asks for.
  const interceptor: grpc.ServerInterceptor = (method, incoming) => {
    const call = incoming as grpc.ServerInterceptingCall;
    const stream = method.path === options.path ? options.streamOf(call) : undefined;
    if (!stream) return call;
    const started = performance.now();
    // A prefix's bytes that came split over chunks (never more than 4).
    let prefix: Buffer | undefined;
    let scan: ModelNameScan | undefined;
    const onData = (chunk: Buffer): void => {
      // Answered already (its token refused, its room in the body budget): nothing is left to tell.
      if (stream.headersSent) return void stream.off('data', onData);
      let from = 0;
      if (scan === undefined) {
        const head = prefix === undefined ? chunk : Buffer.concat([prefix, chunk]);
        if (head.length < PREFIX_BYTES) return void (prefix = head);
        prefix = undefined;
        const messageBytes = head.readUInt32BE(1);
        if (head[0] !== 0 || messageBytes > options.maxMessageBytes) return void stream.off('data', onData);
        scan = scanModelName(messageBytes);
        chunk = head;
        from = PREFIX_BYTES;
      }
      const read = scan.read(chunk, from);
      if (read === 'more') return;
      stream.off('data', onData);
      if (read === undefined) return;
      try {
        options.check(read.name, read.version === '' ? undefined : read.version);
      } catch (error) {
        // Sent before grpc-js's own listener reads this chunk: the call is over for grpc-js, which reads no more of it.
        options.refuse(method.path, call, error, started);
        stopSending(stream);
      }
    };
    stream.prependListener('data', onData);
    return call;
  };
  return { interceptor, streamOf: options.streamOf };
}
