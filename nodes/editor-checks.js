// The editor's shared layer (`QF`): scripts/build.js inlines it at the top of every node's editor
// script, inside that script's own function scope (nothing leaks into the editor's globals).
// Node definitions stay literal `RED.nodes.registerType('qumulo-x', {...})` objects: the scorecard
// (scripts/validate.js) reads them statically. Each check is a line-by-line port of the core parser
// named beside it and answers null (fine) or a problem key; test/editor/editor-validators.test.ts feeds the same good and bad
// values to these checks (through the validators in the built HTML) and to the core parsers and
// expects the same verdict. FIELDS is generated from the core at build time.
var QF = (function () {
  var FIELDS = /* @generated fields */ {};
  // core/event.ts NOTIFICATION_TYPES, for the watch's type list and the filter's type condition.
  var NOTIFICATION_TYPES = /* @generated notification types */ [];

  function text(v) { return String(v === undefined || v === null ? '' : v).trim(); }
  function isEnv(v) { return /^\$\{\w+\}$/.test(text(v)); }

  // core/time/duration.ts parseDuration
  var UNITS = {
    y: 'years', yr: 'years', yrs: 'years', year: 'years', years: 'years',
    mo: 'months', month: 'months', months: 'months',
    w: 'weeks', week: 'weeks', weeks: 'weeks',
    d: 'days', day: 'days', days: 'days',
    h: 'hours', hr: 'hours', hrs: 'hours', hour: 'hours', hours: 'hours',
    min: 'minutes', mins: 'minutes', minute: 'minutes', minutes: 'minutes',
    s: 'seconds', sec: 'seconds', secs: 'seconds', second: 'seconds', seconds: 'seconds',
  };
  function durationProblem(v) {
    var t = text(v);
    if (t === '') return 'empty';
    var parts = { years: 0, months: 0, weeks: 0, days: 0, hours: 0, minutes: 0, seconds: 0 };
    if (/^P/i.test(t)) {
      var iso = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(t);
      if (!iso || t.toUpperCase() === 'P' || /T$/i.test(t)) return 'syntax';
      var keys = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'];
      for (var k = 0; k < keys.length; k++) parts[keys[k]] = iso[k + 1] === undefined ? 0 : Number(iso[k + 1]);
    } else {
      var token = /(\d+)\s*([a-zA-Z]+)\s*/y;
      var index = 0;
      while (index < t.length) {
        token.lastIndex = index;
        var m = token.exec(t);
        if (!m) return 'syntax';
        var unit = m[2].toLowerCase();
        if (unit === 'm') return 'ambiguous';
        if (!Object.prototype.hasOwnProperty.call(UNITS, unit)) return 'unit';
        parts[UNITS[unit]] += Number(m[1]);
        index = token.lastIndex;
      }
    }
    var zero = true;
    for (var p in parts) if (parts[p] !== 0) zero = false;
    if (zero) return 'zero';
    if (parts.years + parts.months / 12 + parts.weeks / 52 + parts.days / 365 > 200) return 'long';
    lastSeconds = (((parts.years * 365 + parts.months * 30 + parts.weeks * 7 + parts.days) * 24 + parts.hours) * 60 + parts.minutes) * 60 + parts.seconds;
    return null;
  }
  var lastSeconds = 0;
  /** About how many seconds a valid duration is (months as 30 days): for lower/upper bounds only. */
  function durationSeconds(v) { return durationProblem(v) ? NaN : lastSeconds; }

  // core/time/duration.ts parseRetentionSpec
  function retentionProblem(v) {
    var t = text(v);
    if (t === '') return 'empty';
    var dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
    if (dateOnly) {
      var at = new Date(Date.UTC(Number(dateOnly[1]), Number(dateOnly[2]) - 1, Number(dateOnly[3])));
      return at.getUTCDate() !== Number(dateOnly[3]) || at.getUTCMonth() !== Number(dateOnly[2]) - 1 ? 'date' : null;
    }
    if (/^\d{4}-\d{2}-\d{2}[T ]/.test(t)) {
      if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i.test(t)) return 'zone';
      return isNaN(new Date(t.replace(' ', 'T')).getTime()) ? 'date' : null;
    }
    return durationProblem(t);
  }

  // core/actions/mode.ts parseModeSpec
  function modeProblem(v) {
    var t = text(v);
    if (t === '') return 'empty';
    if (/^[0-7]{1,4}$/.test(t)) return null;
    if (/^[0-9]+$/.test(t)) return 'octal';
    var clauses = t.split(',');
    for (var i = 0; i < clauses.length; i++) {
      if (!/^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.test(clauses[i])) return 'clause';
    }
    return null;
  }

  // core/actions/template.ts compileTemplate
  function templateProblem(v, allowed) {
    var source = String(v === undefined || v === null ? '' : v);
    var i = 0;
    while (i < source.length) {
      var ch = source.charAt(i);
      if ((ch === '{' && source.charAt(i + 1) === '{') || (ch === '}' && source.charAt(i + 1) === '}')) {
        i += 2;
      } else if (ch === '{') {
        var end = source.indexOf('}', i);
        if (end < 0) return 'unclosed';
        if (allowed.indexOf(source.slice(i + 1, end).trim()) === -1) return 'placeholder';
        i = end + 1;
      } else if (ch === '}') {
        return 'unmatched';
      } else {
        i++;
      }
    }
    return null;
  }

  // core/actions/rename.ts compileRenameTemplate
  function renameTemplateProblem(v) {
    var source = String(v === undefined || v === null ? '' : v);
    if (source.trim() === '') return 'empty';
    if (/[/\\]/.test(source.replace(/\{[^}]*\}/g, ''))) return 'slash';
    return templateProblem(source, FIELDS.event);
  }

  // core/actions/email.ts parseAddressList
  var ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[A-Za-z0-9.-]+$/;
  function addressProblem(v) {
    var raw = String(v === undefined || v === null ? '' : v);
    if (/[\p{Cc}\p{Cf}]/u.test(raw)) return 'control';
    var items = raw.split(/[,;]/).map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
    if (items.length === 0) return 'empty';
    for (var i = 0; i < items.length; i++) {
      var m = /^(?:"?([^"<>]*)"?\s*)?<([^<>]+)>$/.exec(items[i]);
      if (!ADDRESS.test(m ? m[2].trim() : items[i])) return 'address';
    }
    return null;
  }

  // core/actions/names.ts safeAbsoluteDir (+ nameProblem for each component)
  var UNSAFE_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/u;
  function absoluteDirProblem(v) {
    var path = String(v === undefined || v === null ? '' : v);
    if (path.charAt(0) !== '/') return 'absolute';
    var parts = path.split('/').filter(function (p) { return p.length > 0; });
    for (var i = 0; i < parts.length; i++) {
      var name = parts[i];
      if (name === '.' || name === '..' || name.indexOf('\\') !== -1 || UNSAFE_CHAR.test(name) || name.trim() === '') return 'component';
      if (new TextEncoder().encode(name).length > 255) return 'component';
    }
    return null;
  }

  // core/qumulo/refs.ts isFileId / normalizeAbsolutePath
  function watchPathProblem(v) {
    var path = text(v) || '/';
    if (/^\d+$/.test(path)) return null;
    if (path.charAt(0) !== '/') return 'absolute';
    if (path.indexOf('\u0000') !== -1) return 'control';
    var parts = path.split('/');
    for (var i = 0; i < parts.length; i++) if (parts[i] === '.' || parts[i] === '..') return 'dots';
    return null;
  }

  // core/qumulo/address.ts clusterHostProblem
  var LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
  var IPV6 = /^[0-9A-Fa-f:.]{2,45}(?:%[\w.-]{1,32})?$/;
  function hostProblem(v) {
    var host = text(v);
    if (host === '') return 'missing';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return 'scheme';
    if (host.indexOf('/') !== -1) return 'path';
    if (/\s/.test(host)) return 'syntax';
    var bracketed = /^\[(.*)\]$/.exec(host);
    if (bracketed || (host.match(/:/g) || []).length >= 2) {
      var address = bracketed ? bracketed[1] : host;
      return IPV6.test(address) && address.indexOf(':') !== -1 ? null : 'ipv6';
    }
    if (host.indexOf(':') !== -1) return 'port';
    if (host.length > 253) return 'syntax';
    var labels = host.replace(/\.$/, '').split('.');
    for (var i = 0; i < labels.length; i++) if (!LABEL.test(labels[i])) return 'syntax';
    return null;
  }

  // A number written in the field (empty allowed when `optional`), at least `min`, whole when `whole`.
  function numberProblem(v, min, max, whole, optional) {
    var t = text(v);
    if (t === '') return optional ? null : 'empty';
    var n = Number(t);
    if (!isFinite(n)) return 'number';
    if (whole && Math.floor(n) !== n) return 'whole';
    if (n < min || (max !== undefined && n > max)) return 'range';
    return null;
  }

  /**
   * A two-argument validator (Node-RED 4 shows the returned text; a one-argument validator's text
   * would count as valid): true, or the node's message for `key` (problem keys land under it when
   * the catalogue has them, e.g. qumulo-cluster.errors.host-scheme); `args` fill __placeholders__.
   */
  function validator(key, problemOf, args) {
    return function (v, opt) {
      if (isEnv(v)) return true;
      var problem = problemOf.call(this, v);
      if (!problem) return true;
      var node = this;
      if (!node || typeof node._ !== 'function') return key + '-' + problem;
      var specific = node._(key + '-' + problem, args);
      return specific !== key + '-' + problem ? specific : node._(key, args);
    };
  }

  return {
    FIELDS: FIELDS,
    NOTIFICATION_TYPES: NOTIFICATION_TYPES,
    text: text,
    isEnv: isEnv,
    durationProblem: durationProblem,
    durationSeconds: durationSeconds,
    watchPathProblem: watchPathProblem,
    retentionProblem: retentionProblem,
    modeProblem: modeProblem,
    templateProblem: templateProblem,
    renameTemplateProblem: renameTemplateProblem,
    addressProblem: addressProblem,
    absoluteDirProblem: absoluteDirProblem,
    hostProblem: hostProblem,
    numberProblem: numberProblem,
    validator: validator,
  };
})();
