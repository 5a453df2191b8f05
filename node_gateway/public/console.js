// The console: search, a member's recommendations with reasons, and live AI feedback on a practice.
// Plain JS against the gateway's own /v1 routes; the session lives in an HttpOnly cookie.

const TEXT = {
  'zh-TW': {
    title: 'daodao-ai 控制台', member: '成員', pick: '選擇示範成員…', search: '搜尋', go: '搜尋',
    searchHint: '想學什麼？例如：德語文法', kinds: '種類', recommendations: '推薦給你', items: '學習資源',
    people: '學習夥伴', practices: '我的主題實踐', requestFeedback: '請 AI 給回饋', noHits: '沒有找到結果',
    noFeedbackYet: '打卡後就能請 AI 給回饋',
    noRecos: '目前沒有推薦', noPractices: '還沒有主題實踐', signInFirst: '請先選擇一位成員',
    signedIn: '目前身分：', checkins: '次打卡', days: '天', degraded: '（服務降級：顯示先前的結果）',
    queued: '排隊中…', running: 'AI 撰寫中…', succeeded: '完成', failed: '失敗', score: '分數',
    kindNames: { course: '課程', book: '書籍', video: '影片', website: '網站', tool: '工具', article: '文章', practice: '實踐', other: '其他', person: '夥伴' },
    feedbackKinds: { checkin_encouragement: '打卡鼓勵', weekly_summary: '每週回顧', completion_insight: '完成心得' },
    lang: 'English'
  },
  en: {
    title: 'daodao-ai console', member: 'Member', pick: 'Pick a demo member…', search: 'Search', go: 'Search',
    searchHint: 'What do you want to learn? e.g. German grammar', kinds: 'Kinds', recommendations: 'Recommended for you',
    items: 'Resources', people: 'People', practices: 'My practices', requestFeedback: 'Ask AI for feedback',
    noFeedbackYet: 'Check in to ask AI for feedback',
    noHits: 'No results', noRecos: 'No recommendations yet', noPractices: 'No practices yet',
    signInFirst: 'Pick a member first', signedIn: 'Signed in as ', checkins: 'check-ins', days: 'days',
    degraded: '(degraded: showing the last good answer)', queued: 'Queued…', running: 'AI is writing…',
    succeeded: 'Done', failed: 'Failed', score: 'score',
    kindNames: { course: 'Course', book: 'Book', video: 'Video', website: 'Website', tool: 'Tool', article: 'Article', practice: 'Practice', other: 'Other', person: 'Person' },
    feedbackKinds: { checkin_encouragement: 'Check-in encouragement', weekly_summary: 'Weekly summary', completion_insight: 'Completion insight' },
    lang: '中文'
  }
}
const KINDS = ['course', 'book', 'video', 'website', 'tool', 'article', 'practice']
// Feedback about check-ins needs at least one, and a completion insight a completed practice:
// the service refuses them otherwise, so the page does not offer them.
const NEEDS_CHECKIN = new Set(['checkin_encouragement', 'weekly_summary'])
const NEEDS_COMPLETED = new Set(['completion_insight'])
const offered = (practice, kind) =>
  (practice.checkins > 0 || !NEEDS_CHECKIN.has(kind)) &&
  (practice.status === 'completed' || !NEEDS_COMPLETED.has(kind))
const $ = (selector) => document.querySelector(selector)

let locale = localStorage.getItem('locale') ?? (navigator.language?.toLowerCase().startsWith('zh') ? 'zh-TW' : 'en')
let me = null
const t = (key) => TEXT[locale][key]

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (name === 'class') node.className = value
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value)
  }
  for (const child of children.flat()) if (child != null) node.append(child)
  return node
}

function say(message, isError = false) {
  const status = $('#status')
  status.textContent = message
  status.classList.toggle('error', isError)
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers }
  })
  const body = response.status === 204 ? null : await response.json()
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`)
  return body
}

function translate() {
  document.documentElement.lang = locale
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n)
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder)
  $('#lang').textContent = t('lang')
  for (const box of document.querySelectorAll('#kinds input')) box.nextSibling.textContent = ` ${t('kindNames')[box.value]}`
  if (me) say(`${t('signedIn')}${me}`)
}

function tags(list) {
  return (list ?? []).slice(0, 5).map((tag) => el('span', { class: 'tag' }, tag))
}

async function search(event) {
  event?.preventDefault()
  if (!me) return say(t('signInFirst'), true)
  const params = new URLSearchParams({ q: $('#q').value, limit: '10' })
  for (const box of document.querySelectorAll('#kinds input:checked')) params.append('kind', box.value)
  try {
    const page = await api(`/v1/search?${params}`)
    const hits = page.hits.map((hit) => el('li', {},
      el('div', { class: 'title' }, hit.url ? el('a', { href: hit.url, rel: 'noopener', target: '_blank' }, hit.title) : hit.title),
      el('div', { class: 'meta' }, `${t('kindNames')[hit.kind] ?? hit.kind} · ${t('score')} ${hit.score.toFixed(3)} · ${hit.matched.join('+')}`),
      el('div', {}, hit.snippet), tags(hit.tags)))
    $('#hits').replaceChildren(...(hits.length ? hits : [el('li', { class: 'empty' }, t('noHits'))]))
  } catch (error) {
    say(error.message, true)
  }
}

async function recommendations() {
  if (!me) return
  const target = document.querySelector('input[name=target]:checked').value
  try {
    const page = await api(`/v1/users/${encodeURIComponent(me)}/recommendations?limit=8&target=${target}`)
    const items = page.items.map((item) => el('li', {},
      el('div', { class: 'title' }, item.title),
      el('div', { class: 'meta' }, `${t('kindNames')[item.kind] ?? item.kind} · ${t('score')} ${item.score.toFixed(3)}`),
      item.reasons.map((reason) => el('div', { class: 'reason' }, `· ${reason.detail}`))))
    if (page.degraded) items.unshift(el('li', { class: 'empty' }, t('degraded')))
    $('#recos').replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, t('noRecos'))]))
  } catch (error) {
    say(error.message, true)
  }
}

function followJob(jobId, box) {
  const stream = new EventSource(`/v1/feedback/${jobId}/events`)
  const show = (status, job) => {
    box.replaceChildren(el('div', { class: 'job' }, t(status)))
    if (status === 'succeeded' && job.result) {
      box.append(el('div', { class: 'message' }, job.result.message,
        job.result.next_step ? el('div', { class: 'reason' }, `→ ${job.result.next_step}`) : null))
    }
    if (status === 'failed') box.append(el('div', { class: 'reason' }, job.error ?? ''))
  }
  for (const status of ['queued', 'running', 'succeeded', 'failed']) {
    stream.addEventListener(status, (event) => {
      show(status, JSON.parse(event.data))
      if (status === 'succeeded' || status === 'failed') stream.close()
    })
  }
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) say(`feedback ${jobId}: stream closed`, true)
  }
}

async function practices() {
  if (!me) return
  try {
    const { practices: list } = await api(`/v1/users/${encodeURIComponent(me)}/practices`)
    const cards = list.map((practice) => {
      const result = el('div', { class: 'feedback' })
      const kinds = Object.entries(t('feedbackKinds')).filter(([value]) => offered(practice, value))
      const kind = el('select', { 'aria-label': 'feedback kind' },
        kinds.map(([value, label]) => el('option', { value }, label)))
      const button = el('button', {
        type: 'button',
        class: 'request-feedback',
        onclick: async () => {
          button.disabled = true
          try {
            const job = await api(`/v1/practices/${encodeURIComponent(practice.id)}/feedback`, {
              method: 'POST', body: JSON.stringify({ kind: kind.value, locale })
            })
            result.replaceChildren(el('div', { class: 'job' }, t(job.status)))
            followJob(job.job_id, result)
          } catch (error) {
            say(error.message, true)
          } finally {
            button.disabled = false
          }
        }
      }, t('requestFeedback'))
      const ask = kinds.length
        ? el('div', { class: 'row' }, kind, button)
        : el('div', { class: 'meta' }, t('noFeedbackYet'))
      return el('li', { 'data-practice': practice.id },
        el('div', { class: 'title' }, practice.title),
        el('div', { class: 'meta' }, `${practice.status} · ${practice.duration_days} ${t('days')} · ${practice.checkins} ${t('checkins')}`),
        ask, result)
    })
    $('#practices').replaceChildren(...(cards.length ? cards : [el('li', { class: 'empty' }, t('noPractices'))]))
  } catch (error) {
    say(error.message, true)
  }
}

async function signIn(userId) {
  await api('/console/session', { method: 'POST', body: JSON.stringify({ user_id: userId }) })
  me = userId
  say(`${t('signedIn')}${me}`)
  await Promise.all([recommendations(), practices(), $('#q').value ? search() : null])
}

async function start() {
  for (const kind of KINDS) {
    $('#kinds').append(el('label', {}, el('input', { type: 'checkbox', name: 'kind', value: kind }), ` ${kind}`))
  }
  translate()
  $('#lang').addEventListener('click', () => {
    locale = locale === 'en' ? 'zh-TW' : 'en'
    localStorage.setItem('locale', locale)
    translate()
    recommendations()
    practices()
  })
  $('#search-form').addEventListener('submit', search)
  for (const radio of document.querySelectorAll('input[name=target]')) radio.addEventListener('change', recommendations)

  const session = await api('/console/me')
  me = session.user_id
  if (session.dev_login) {
    const { users } = await api('/console/demo-users')
    for (const user of users) $('#member').append(el('option', { value: user.id }, `${user.display_name} (${user.id})`))
    $('#member').addEventListener('change', (event) => event.target.value && signIn(event.target.value).catch((e) => say(e.message, true)))
    if (!me && users.length) await signIn(users[0].id)
  } else {
    $('#member').disabled = true
  }
  if (me) {
    $('#member').value = me
    say(`${t('signedIn')}${me}`)
    await Promise.all([recommendations(), practices()])
  } else {
    say(t('signInFirst'))
  }
}

start().catch((error) => say(error.message, true))
