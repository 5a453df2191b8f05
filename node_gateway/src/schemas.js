// What end users may send through the gateway, checked before anything reaches the AI service.
// The limits are the AI service's own (see its OpenAPI document), sometimes tighter.
import { Type } from '@sinclair/typebox'
import { MEMBER_ID } from './auth.js'

const Id = Type.String({ pattern: MEMBER_ID })
const ItemKind = Type.Union(['course', 'book', 'video', 'website', 'tool', 'article', 'practice', 'other'].map((k) => Type.Literal(k)))
const Level = Type.Union(['beginner', 'intermediate', 'advanced', 'all'].map((k) => Type.Literal(k)))
const Language = Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$', maxLength: 16 })
const Limit = (max) => Type.Integer({ minimum: 1, maximum: max })
const closed = { additionalProperties: false }

export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 500 }),
  mode: Type.Optional(Type.Union(['hybrid', 'semantic', 'keyword'].map((m) => Type.Literal(m)))),
  kind: Type.Optional(Type.Array(ItemKind, { maxItems: 8 })),
  level: Type.Optional(Type.Array(Level, { maxItems: 4 })),
  language: Type.Optional(Type.Array(Language, { maxItems: 10 })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 20 })),
  category: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Optional(Limit(50)),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, closed)

export const ItemParams = Type.Object({ itemId: Id })
export const UserParams = Type.Object({ userId: Id })
export const PracticeParams = Type.Object({ practiceId: Id })
export const JobParams = Type.Object({ jobId: Type.String({ format: 'uuid' }) })
export const LimitQuery = Type.Object({ limit: Type.Optional(Limit(100)) }, closed)

export const RecommendationsQuery = Type.Object({
  target: Type.Optional(Type.Union([Type.Literal('items'), Type.Literal('people')])),
  limit: Type.Optional(Limit(50)),
  kind: Type.Optional(Type.Array(ItemKind, { maxItems: 8 })),
  // The language of the reasons; the member's profile decides when it is absent.
  locale: Type.Optional(Type.Union([Type.Literal('zh-TW'), Type.Literal('en')]))
}, closed)

export const EventsBody = Type.Object({
  events: Type.Array(Type.Object({
    id: Id,
    // The signed-in member; another member's id is refused.
    user_id: Type.Optional(Id),
    item_id: Id,
    type: Type.Union(['view', 'like', 'bookmark', 'complete', 'dislike', 'hide'].map((t) => Type.Literal(t))),
    occurred_at: Type.String({ format: 'date-time' })
  }, closed), { minItems: 1, maxItems: 100 })
}, closed)

export const FeedbackBody = Type.Object({
  kind: Type.Union(['checkin_encouragement', 'weekly_summary', 'completion_insight'].map((k) => Type.Literal(k))),
  locale: Type.Optional(Type.Union([Type.Literal('zh-TW'), Type.Literal('en')])),
  idempotency_key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:\\-]{1,200}$' }))
}, closed)

export const LoginBody = Type.Object({ user_id: Id }, closed)
