// What end users may send through the gateway, checked before anything reaches the AI service.
// The limits are the AI service's own (see its OpenAPI document), sometimes tighter.
import { Type } from '@sinclair/typebox'
import { MEMBER_ID } from './auth.js'

const Id = Type.String({ pattern: MEMBER_ID })
const oneOf = (values) => Type.Union(values.map((v) => Type.Literal(v)))
const ItemKind = oneOf(['course', 'book', 'video', 'website', 'tool', 'article', 'practice', 'other'])
const Level = oneOf(['beginner', 'intermediate', 'advanced', 'expert', 'all'])
const ResourceType = oneOf([
  'learning_platform_app', 'learning_tools', 'books_articles', 'video_content', 'podcast_content',
  'workshops_courses', 'professional_certificates', 'community_organization'
])
const Cost = oneOf(['free', 'partial_free', 'paid'])
const Category = Type.String({ minLength: 1, maxLength: 100 })
const Language = Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$', maxLength: 16 })
const Limit = (max) => Type.Integer({ minimum: 1, maximum: max })
const closed = { additionalProperties: false }

// Without q, a browse: the AI service asks for at least one filter.
export const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  mode: Type.Optional(oneOf(['hybrid', 'semantic', 'keyword'])),
  kind: Type.Optional(Type.Array(ItemKind, { maxItems: 8 })),
  level: Type.Optional(Type.Array(Level, { maxItems: 5 })),
  language: Type.Optional(Type.Array(Language, { maxItems: 10 })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 20 })),
  tags_mode: Type.Optional(oneOf(['any', 'all'])),
  category: Type.Optional(Category),
  subcategory: Type.Optional(Category),
  resource_type: Type.Optional(Type.Array(ResourceType, { maxItems: 8 })),
  cost: Type.Optional(Type.Array(Cost, { maxItems: 3 })),
  status: Type.Optional(Type.Array(oneOf(['active', 'completed']), { maxItems: 2 })),
  duration_days: Type.Optional(Type.String({ pattern: '^(\\d{1,2})?-?(\\d{1,2})?$', minLength: 1, maxLength: 5 })),
  sort: Type.Optional(oneOf(['relevance', 'updated', 'created'])),
  facets: Type.Optional(Type.String({ pattern: '^[a-z_]+(,[a-z_]+)*$', maxLength: 200 })),
  limit: Type.Optional(Limit(50)),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 }))
}, closed)

export const ItemParams = Type.Object({ itemId: Id })
export const UserParams = Type.Object({ userId: Id })
export const PracticeParams = Type.Object({ practiceId: Id })
export const EventParams = Type.Object({ eventId: Id })
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
    // An item for every type but follow, which names the member followed.
    item_id: Type.Optional(Id),
    target_user_id: Type.Optional(Id),
    type: oneOf([
      'view', 'like', 'bookmark', 'complete', 'dislike', 'hide',
      'cheer', 'inspired', 'resonate', 'curious', 'comment', 'copy', 'follow'
    ]),
    occurred_at: Type.String({ format: 'date-time' })
  }, closed), { minItems: 1, maxItems: 100 })
}, closed)

export const ReactionsQuery = Type.Object({
  item_ids: Type.String({ pattern: '^[A-Za-z0-9._:\\-]+(,[A-Za-z0-9._:\\-]+)*$', maxLength: 6000 })
}, closed)

export const PartnersQuery = Type.Object({
  limit: Type.Optional(Limit(50)),
  locale: Type.Optional(Type.Union([Type.Literal('zh-TW'), Type.Literal('en')]))
}, closed)

export const FeedbackBody = Type.Object({
  kind: Type.Union(['checkin_encouragement', 'weekly_summary', 'completion_insight'].map((k) => Type.Literal(k))),
  locale: Type.Optional(Type.Union([Type.Literal('zh-TW'), Type.Literal('en')])),
  idempotency_key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:\\-]{1,200}$' }))
}, closed)

export const LoginBody = Type.Object({ user_id: Id }, closed)
