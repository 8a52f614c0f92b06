// Error codes: one table, shared by HTTP answers and WebSocket `error` frames.
import { z } from "./zod";

export const ErrorCode = {
  invalid_name: 400,
  invalid_text: 400,
  invalid_body: 400,
  bad_json: 400,
  bad_frame: 400,
  bad_cursor: 400,
  bad_stream: 400,
  bad_request: 400,
  duplicate_cookie: 400,
  invalid_username: 400,
  invalid_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  forbidden_origin: 403,
  not_found: 404,
  unknown_room: 404,
  unknown_message: 404,
  unknown_object: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  room_exists: 409,
  username_taken: 409,
  name_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_joined: 409,
  message_deleted: 409,
  too_many_reactions: 409,
  object_exists: 409,
  board_full: 409,
  rate_limited: 429,
  too_many_rooms: 429,
  too_many_connections: 429,
  overloaded: 503,
  unavailable: 503,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof ErrorCode;

// Object.keys loses the key type; the object literal above is the one list of codes.
export const errorCodeSchema = z.enum(Object.keys(ErrorCode) as [ErrorCode, ...ErrorCode[]]);

/** `room` (1.16): the room a poll or event stream was refused for, when it names one it may not read. */
export const errorBodySchema = z.object({ error: z.object({ code: errorCodeSchema, message: z.string(), room: z.string().optional() }) });
export type ErrorBody = z.infer<typeof errorBodySchema>;
