// tsdav (npm) against a running Kalends server, the way web and Electron
// calendar clients drive it.
//
// Usage: node tsdav_check.mjs URL USER PASSWORD
//
// createDAVClient with Basic auth and defaultAccountType 'caldav' (service
// discovery through /.well-known/caldav, principal, calendar-home-set),
// fetchCalendars, makeCalendar, createCalendarObject, fetchCalendarObjects
// (calendar-query, with and without a time range, and multiget),
// isCollectionDirty (getctag), updateCalendarObject with the ETag (and a
// stale one, which must be refused), deleteCalendarObject,
// smartCollectionSyncDetailed (sync-collection + multiget), syncCalendars,
// and deleting the calendar. Prints one PASS/FAIL line per check and a
// closing "N passed, M failed"; exits 1 if anything failed.

import { randomUUID } from 'node:crypto';
import { createDAVClient, calendarMultiGet } from 'tsdav';

const [serverUrl, username, password] = process.argv.slice(2);
let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`PASS tsdav: ${name}`);
  } else {
    failed++;
    console.log(`FAIL tsdav: ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

// step runs fn; an exception is a failed check and yields undefined.
async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    check(name, false, `${e?.name}: ${e?.message}`);
    return undefined;
  }
}

const path = (u) => new URL(u, serverUrl).pathname;
const run = randomUUID().slice(0, 8);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');

function ics(uid, summary, lines) {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Kalends//interop tsdav_check//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTAMP:${stamp}`,
    `SUMMARY:${summary}`,
    ...lines,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const uidA = `ts-a-${run}@kalends.test`;
const uidB = `ts-b-${run}@kalends.test`;
const uidC = `ts-c-${run}@kalends.test`;
const icsA = ics(uidA, 'tsdav A', ['DTSTART:20300304T090000Z', 'DTEND:20300304T100000Z']);
// Daily, ten occurrences from 2030-03-10.
const icsB = ics(uidB, 'tsdav B daily', [
  'DTSTART:20300310T120000Z',
  'DURATION:PT30M',
  'RRULE:FREQ=DAILY;COUNT=10',
]);
const icsC = ics(uidC, 'tsdav C all-day', ['DTSTART;VALUE=DATE:20300401', 'DTEND;VALUE=DATE:20300402']);

async function main() {
  const client = await step('createDAVClient (discovery)', () =>
    createDAVClient({
      serverUrl,
      credentials: { username, password },
      authMethod: 'Basic',
      defaultAccountType: 'caldav',
    }),
  );
  if (!client) return;
  // createDAVClient does not expose its account; createAccount runs the same
  // discovery and returns it.
  const account = await step('createAccount', () =>
    client.createAccount({ account: { serverUrl, accountType: 'caldav', credentials: { username, password } } }),
  );
  if (!account) return;
  check('principal URL discovered', path(account.principalUrl) === `/principals/users/${username}/`, account.principalUrl);
  check('calendar home discovered', path(account.homeUrl) === `/calendars/${username}/`, account.homeUrl);

  const cals0 = await step('fetchCalendars', () => client.fetchCalendars());
  if (!cals0) return;
  const def = cals0.find((c) => path(c.url) === `/calendars/${username}/default/`);
  check('fetchCalendars lists the default calendar', !!def, JSON.stringify(cals0.map((c) => c.url)));
  if (def) {
    check('default calendar has a ctag', !!def.ctag, JSON.stringify(def));
    check('default calendar has a sync token', !!def.syncToken, JSON.stringify(def));
    check('default calendar supports VEVENT', (def.components ?? []).includes('VEVENT'), JSON.stringify(def.components));
    check('default calendar reports syncCollection', (def.reports ?? []).includes('syncCollection'), JSON.stringify(def.reports));
  }

  // MKCALENDAR with a displayname, a color and VEVENT only.
  const calUrl = new URL(`/calendars/${username}/ts-${run}/`, account.homeUrl).href;
  const mk = await step('makeCalendar', () =>
    client.makeCalendar({
      url: calUrl,
      props: {
        'd:displayname': 'tsdav interop',
        'c:calendar-description': 'made by tsdav_check.mjs',
        'ca:calendar-color': '#336699FF',
        'c:supported-calendar-component-set': { 'c:comp': { _attributes: { name: 'VEVENT' } } },
      },
    }),
  );
  if (!mk) return;
  check('makeCalendar answers 201', mk[0]?.status === 201 || mk[0]?.ok === true, JSON.stringify(mk));

  const cals1 = await step('fetchCalendars after makeCalendar', () => client.fetchCalendars());
  if (!cals1) return;
  let cal = cals1.find((c) => path(c.url) === path(calUrl));
  if (!check('fetchCalendars lists the new calendar', !!cal, JSON.stringify(cals1.map((c) => c.url)))) return;
  check('new calendar has its displayname', cal.displayName === 'tsdav interop', JSON.stringify(cal.displayName));
  check('new calendar has its color', String(cal.calendarColor ?? '').toUpperCase().startsWith('#336699'), JSON.stringify(cal.calendarColor));
  check('new calendar has its description', cal.description === 'made by tsdav_check.mjs', JSON.stringify(cal.description));
  check('new calendar has a ctag and a sync token', !!cal.ctag && !!cal.syncToken, JSON.stringify(cal));
  const calEmpty = { ...cal };

  const empty = await step('fetchCalendarObjects of an empty calendar', () => client.fetchCalendarObjects({ calendar: cal }));
  check('empty calendar has no objects', Array.isArray(empty) && empty.length === 0, JSON.stringify(empty));

  // createCalendarObject: PUT with If-None-Match: *.
  for (const [uid, data] of [[uidA, icsA], [uidB, icsB], [uidC, icsC]]) {
    const res = await step(`createCalendarObject ${uid}`, () =>
      client.createCalendarObject({ calendar: cal, filename: `${uid.split('@')[0]}.ics`, iCalString: data }),
    );
    if (res) check(`createCalendarObject ${uid.split('-')[1]} answers 201`, res.status === 201, `${res.status} ${res.statusText}`);
  }
  const again = await step('createCalendarObject over an existing one', () =>
    client.createCalendarObject({ calendar: cal, filename: `${uidA.split('@')[0]}.ics`, iCalString: icsA }),
  );
  if (again) check('createCalendarObject over an existing one is refused (412)', again.status === 412, `${again.status}`);

  const dirty = await step('isCollectionDirty', () => client.isCollectionDirty({ collection: calEmpty }));
  if (dirty) check('isCollectionDirty after creations', dirty.isDirty === true && dirty.newCtag !== calEmpty.ctag, JSON.stringify(dirty));

  const objs = await step('fetchCalendarObjects', () => client.fetchCalendarObjects({ calendar: cal }));
  if (!objs) return;
  const byUid = (list, uid) => list.find((o) => typeof o.data === 'string' && o.data.includes(`UID:${uid}`));
  check('fetchCalendarObjects returns the three objects', objs.length === 3 && byUid(objs, uidA) && byUid(objs, uidB) && byUid(objs, uidC), JSON.stringify(objs.map((o) => o.url)));
  check('every object has an etag', objs.every((o) => !!o.etag), JSON.stringify(objs.map((o) => o.etag)));

  // calendar-query with a time range: 2030-03-15 holds only B's sixth occurrence.
  const ranged = await step('fetchCalendarObjects with timeRange', () =>
    client.fetchCalendarObjects({ calendar: cal, timeRange: { start: '2030-03-15T00:00:00Z', end: '2030-03-16T00:00:00Z' } }),
  );
  if (ranged) check('time range finds only the recurring event', ranged.length === 1 && !!byUid(ranged, uidB), JSON.stringify(ranged.map((o) => o.url)));
  const ranged2 = await step('fetchCalendarObjects with the all-day range', () =>
    client.fetchCalendarObjects({ calendar: cal, timeRange: { start: '2030-04-01T10:00:00Z', end: '2030-04-01T11:00:00Z' } }),
  );
  if (ranged2) check('time range finds the all-day event', ranged2.length === 1 && !!byUid(ranged2, uidC), JSON.stringify(ranged2.map((o) => o.url)));

  // Server-side expansion: B's occurrences on the 12th, 13th and 14th.
  const exp = await step('fetchCalendarObjects with timeRange and expand', () =>
    client.fetchCalendarObjects({ calendar: cal, timeRange: { start: '2030-03-12T00:00:00Z', end: '2030-03-15T00:00:00Z' }, expand: true }),
  );
  if (exp) {
    const rids = exp.flatMap((o) => [...String(o.data).matchAll(/RECURRENCE-ID[^:]*:(\S+)/g)].map((m) => m[1])).sort();
    check('expand: the three occurrences of B, by RECURRENCE-ID', exp.length === 1 && JSON.stringify(rids) === JSON.stringify(['20300312T120000Z', '20300313T120000Z', '20300314T120000Z']), JSON.stringify({ rids, data: exp.map((o) => o.data) }));
    check('expand: no RRULE left', exp.every((o) => !String(o.data).includes('RRULE')), JSON.stringify(exp.map((o) => o.data)));
  }

  const objA = byUid(objs, uidA);
  const multi = await step('fetchCalendarObjects by objectUrls (multiget)', () =>
    client.fetchCalendarObjects({ calendar: cal, objectUrls: [objA.url], useMultiGet: true }),
  );
  if (multi) check('multiget returns the asked object', multi.length === 1 && !!byUid(multi, uidA) && multi[0].etag === objA.etag, JSON.stringify(multi));

  // The local state a web client keeps, for the sync below.
  const local = { ...cal, objects: objs, objectMultiGet: calendarMultiGet };

  // updateCalendarObject: PUT with If-Match.
  const newA = icsA.replace('SUMMARY:tsdav A', 'SUMMARY:tsdav A (renamed)');
  const upd = await step('updateCalendarObject', () =>
    client.updateCalendarObject({ calendarObject: { url: objA.url, etag: objA.etag, data: newA } }),
  );
  if (upd) check('updateCalendarObject with the current etag answers 204', upd.status === 204 || upd.status === 200, `${upd.status}`);
  const stale = await step('updateCalendarObject with a stale etag', () =>
    client.updateCalendarObject({ calendarObject: { url: objA.url, etag: objA.etag, data: icsA } }),
  );
  if (stale) check('updateCalendarObject with a stale etag is refused (412)', stale.status === 412, `${stale.status}`);

  const objC = byUid(objs, uidC);
  const delStale = await step('deleteCalendarObject with a wrong etag', () =>
    client.deleteCalendarObject({ calendarObject: { url: objC.url, etag: '"not-the-etag"' } }),
  );
  if (delStale) check('deleteCalendarObject with a wrong etag is refused (412)', delStale.status === 412, `${delStale.status}`);
  const del = await step('deleteCalendarObject', () => client.deleteCalendarObject({ calendarObject: { url: objC.url, etag: objC.etag } }));
  if (del) check('deleteCalendarObject answers 204', del.status === 204 || del.status === 200, `${del.status}`);

  // A fourth object, so the sync below sees one of each kind of change.
  const uidD = `ts-d-${run}@kalends.test`;
  const created = await step('createCalendarObject D', () =>
    client.createCalendarObject({
      calendar: cal,
      filename: `ts-d-${run}.ics`,
      iCalString: ics(uidD, 'tsdav D', ['DTSTART:20300505T090000Z', 'DTEND:20300505T091500Z']),
    }),
  );
  if (created) check('createCalendarObject D answers 201', created.status === 201, `${created.status}`);

  // smartCollectionSync with sync-collection: exactly one created, one
  // updated, one deleted.
  const synced = await step('smartCollectionSyncDetailed (webdav)', () =>
    client.smartCollectionSyncDetailed({ collection: local, method: 'webdav', account }),
  );
  if (synced) {
    const { created: c, updated: u, deleted: d } = synced.objects;
    check('sync-collection: created is exactly D', c.length === 1 && !!byUid(c, uidD), JSON.stringify(c.map((o) => o.url)));
    check('sync-collection: updated is exactly A with the new summary', u.length === 1 && path(u[0].url) === path(objA.url) && u[0].data.includes('tsdav A (renamed)'), JSON.stringify(u));
    check('sync-collection: deleted is exactly C', d.length === 1 && path(d[0].url) === path(objC.url), JSON.stringify(d.map((o) => o.url)));
    check('sync-collection: a new sync token', !!synced.syncToken && synced.syncToken !== cal.syncToken, JSON.stringify(synced.syncToken));
    const none = await step('smartCollectionSyncDetailed with no changes', () =>
      client.smartCollectionSyncDetailed({ collection: { ...local, syncToken: synced.syncToken }, method: 'webdav', account }),
    );
    if (none) {
      const n = none.objects;
      check('sync-collection with no changes sees nothing', n.created.length + n.updated.length + n.deleted.length === 0, JSON.stringify(n));
    }
  }

  // The same through ctags ("basic": getctag + calendar-query).
  const basic = await step('smartCollectionSyncDetailed (basic)', () =>
    client.smartCollectionSyncDetailed({
      collection: {
        ...local,
        fetchObjects: ({ collection, ...rest }) => client.fetchCalendarObjects({ ...rest, calendar: collection }),
      },
      method: 'basic',
      account,
    }),
  );
  if (basic) {
    const { created: c, updated: u, deleted: d } = basic.objects;
    check('ctag sync: created D, updated A, deleted C', c.length === 1 && !!byUid(c, uidD) && u.length === 1 && path(u[0].url) === path(objA.url) && d.length === 1 && path(d[0].url) === path(objC.url), JSON.stringify({ c: c.map((o) => o.url), u: u.map((o) => o.url), d: d.map((o) => o.url) }));
  }

  // syncCalendars: the account-level view, from the calendars fetched
  // before any object was written.
  const sc = await step('syncCalendars', () => client.syncCalendars({ oldCalendars: [{ ...cal, objects: [] }, ...cals0], detailedResult: true }));
  if (sc) {
    check('syncCalendars: our calendar is updated', sc.updated.some((c) => path(c.url) === path(calUrl)), JSON.stringify(sc.updated.map((c) => c.url)));
    const mine = sc.updated.find((c) => path(c.url) === path(calUrl));
    if (mine) check('syncCalendars: it carries the three current objects', mine.objects.length === 3 && !!byUid(mine.objects, uidA) && !!byUid(mine.objects, uidB) && !!byUid(mine.objects, uidD), JSON.stringify(mine.objects.map((o) => o.url)));
    check('syncCalendars: nothing created or deleted', sc.created.length === 0 && sc.deleted.length === 0, JSON.stringify({ created: sc.created.map((c) => c.url), deleted: sc.deleted.map((c) => c.url) }));
  }

  // Deleting the calendar (tsdav has no helper: deleteObject on its URL).
  const dc = await step('delete calendar', () => client.deleteObject({ url: calUrl }));
  if (dc) check('calendar DELETE answers 204', dc.status === 204 || dc.status === 200, `${dc.status}`);
  const after = await step('syncCalendars after delete', () => client.syncCalendars({ oldCalendars: cals1, detailedResult: true }));
  if (after) check('syncCalendars sees the calendar deleted', after.deleted.length === 1 && path(after.deleted[0].url) === path(calUrl), JSON.stringify(after.deleted.map((c) => c.url)));
}

try {
  await main();
} catch (e) {
  check('unexpected error', false, e?.stack ?? String(e));
}
console.log(`tsdav: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
