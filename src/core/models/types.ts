// The model client contract both providers implement.
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
  readonly temperature: number;
  readonly signal?: AbortSignal;
  /** Called with each piece of text as it arrives (streaming). */
  readonly onDelta?: (text: string) => void;
}

export interface ChatResult {
  readonly text: string;
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
