// The model client contract both providers implement, including tool calling: the caller offers tools,
// the model may answer with calls instead of (or besides) text, and the caller continues the
// conversation with the calls and their results.

/** A plain message: the system prompt, the user, or an assistant answer in text. */
export interface TextMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
  /** Images for a vision model (a user message), raw base64 without a data: prefix. */
  readonly images?: readonly string[];
}

/** An assistant turn that asked for tools; sent back so the model sees its own calls next round. */
export interface ToolCallsMessage {
  readonly role: 'assistant';
  /** Text the model wrote besides the calls (often empty). */
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
}

/** The result of one tool call, as the model gets to read it. */
export interface ToolResultMessage {
  readonly role: 'tool';
  /** The `ToolCall.id` this answers (OpenAI pairs by id). */
  readonly toolCallId: string;
  /** The tool's name (Ollama pairs by name). */
  readonly name: string;
  readonly content: string;
}

export type ChatMessage = TextMessage | ToolCallsMessage | ToolResultMessage;

/** A tool the model may ask for. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object, e.g. { type: 'object', properties: {...}, required: [...] }. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** One call the model asked for. */
export interface ToolCall {
  /**
   * Pairs the call with its result. The provider's id where it sends one (OpenAI); otherwise made up
   * here (Ollama sends none), unique within the process.
   */
  readonly id: string;
  readonly name: string;
  /** The arguments object; empty when they could not be read (see argumentsError). */
  readonly arguments: Readonly<Record<string, unknown>>;
  /**
   * Why the arguments could not be read as a JSON object (malformed JSON from the model), or undefined.
   * Such a call must not run: the model gets this text as its result instead.
   */
  readonly argumentsError: string | undefined;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  /** Another model than the configured one for this request (e.g. the vision model). */
  readonly model?: string;
  readonly maxTokens: number;
  readonly temperature: number;
  /** Tools the model may call. Absent or empty: the request carries no tools field at all. */
  readonly tools?: readonly ToolSpec[];
  readonly signal?: AbortSignal;
  /** Called with each piece of text as it arrives (streaming). */
  readonly onDelta?: (text: string) => void;
}

export interface ChatResult {
  readonly text: string;
  /** Calls the model asked for, in its order; empty when it answered in text only. */
  readonly toolCalls: readonly ToolCall[];
  /** The model that answered, as the endpoint names it. */
  readonly model: string;
  readonly promptTokens: number | undefined;
  readonly completionTokens: number | undefined;
}

export interface ModelClient {
  readonly provider: 'ollama' | 'openai';
  /** Base URL actually used (for openai, including /v1). */
  readonly endpoint: string;
  chat(req: ChatRequest): Promise<ChatResult>;
  /** Names of the models the endpoint offers. */
  listModels(signal?: AbortSignal): Promise<string[]>;
}
