// The editor's shared form rows, assembled at build time (scripts/build.js). Inside a node's
// `<script type="text/html" data-template-name="qumulo-x">`, a line that starts with `@` stands for
// one Node-RED form row written out here once, so the 15 dialogs do not each repeat the markup:
//
//   @name                                  the Name row
//   @config cluster [icon]                 a config-node row (qumulo-cluster, qumulo-redis)
//   @text field icon [attr="…"…] [| html]  a label + input row; attributes go on the <input>,
//                                          what follows `|` after it (a unit, a hint)
//   @password field icon                   the same with type="password"
//   @textarea field icon [attr…]           a label + <textarea> row (certificates, bodies)
//   @number field icon [attr…] [| html]    the same with type="number"
//   @select field icon group=a,b,c [attr…] a <select>; options a, b, c labelled by
//                                          qumulo-x.group.a … (`value:key` when the key differs
//                                          from the value); `group=@LIST` takes the values from a
//                                          list generated from the core (optionLists in build.js)
//   @checkbox field [attr…] [| html]       a ticked-box row; attributes go on its label, what
//                                          follows `|` after it (a warning shown by the script)
//   @tip key                               the tip under a field: qumulo-x.tip.key
//
// Every line may carry `class=…` (added to the row's class) and `label=key` (the label's locale key
// when it is not qumulo-x.label.<field>). An icon `-` makes a plain label (no icon), styled by
// `labelstyle="…"` (the loop guard's advanced settings). A config node's dialog (category
// 'config') gets Node-RED's `node-config-input-` ids, every other one `node-input-`. Labels and
// placeholders come from the node's locale (qumulo-x.label.field), as Node-RED's i18n expects; what
// the macros write is exactly what the dialogs held by hand before, so they look and behave the same.
'use strict';

/** Splits a macro line into words, keeping "quoted strings" (with their quotes) in one word. */
function words(text) {
  return text.match(/(?:[^\s"]+|"[^"]*")+/g) || [];
}

function escapeAttr(value) {
  return String(value).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * Expands the `@` lines of one dialog template. `type` is the node type (for i18n keys), `lists`
 * the generated option lists. Throws on an unknown macro or list, so a typo fails the build.
 */
function expandRows(template, type, lists, isConfig = false) {
  const id = isConfig ? 'node-config-input-' : 'node-input-';
  return template.replace(/^([ \t]*)@(\w+)(.*)$/gm, (line, indent, macro, rest) => {
    const [trailing, after] = splitTrailing(rest);
    const args = words(trailing);
    const rowClass = takeOption(args, 'class');
    const labelKey = takeOption(args, 'label');
    const labelStyle = takeOption(args, 'labelstyle');
    const row = (inner) => `${indent}<div class="form-row${rowClass ? ' ' + rowClass : ''}">\n${inner.map((l) => `${indent}  ${l}`).join('\n')}\n${indent}</div>`;
    const label = (field, icon) =>
      icon === '-'
        ? `<label for="${id}${field}"${labelStyle ? ` style="${labelStyle}"` : ''} data-i18n="${type}.label.${labelKey ?? field}"></label>`
        : `<label for="${id}${field}"><i class="fa fa-${icon}"></i> <span data-i18n="${type}.label.${labelKey ?? field}"></span></label>`;
    const input = (kind, field, attrs) => `<input type="${kind}" id="${id}${field}"${attrs.length ? ' ' + attrs.join(' ') : ''}>${after ? ' ' + after : ''}`;
    switch (macro) {
      case 'name':
        return row([label('name', 'tag'), `<input type="text" id="${id}name" data-i18n="[placeholder]${type}.label.name">`]);
      case 'config': {
        const [field, icon = 'server'] = args;
        return row([label(field, icon), `<input type="text" id="${id}${field}">`]);
      }
      case 'text':
      case 'password':
      case 'number': {
        const [field, icon, ...attrs] = args;
        return row([label(field, icon), input(macro, field, attrs)]);
      }
      case 'select': {
        const [field, icon, choices, ...attrs] = args;
        const [group, values] = choices.split('=');
        const options = values.startsWith('@') ? lists[values.slice(1)] : values.split(',');
        if (!Array.isArray(options)) throw new Error(`${type}: unknown option list ${values}`);
        return row([
          label(field, icon),
          `<select id="${id}${field}"${attrs.length ? ' ' + attrs.join(' ') : ''}>`,
          ...options.map((option) => {
            const [value, key = value] = option.split(':');
            return `  <option value="${escapeAttr(value)}" data-i18n="${type}.${group}.${key}"></option>`;
          }),
          '</select>',
        ]);
      }
      case 'checkbox': {
        const [field, ...attrs] = args;
        const style = attrs.length ? attrs.join(' ') : 'style="width: auto"';
        return row([
          '<label>&nbsp;</label>',
          `<input type="checkbox" id="${id}${field}" style="display: inline-block; width: auto; vertical-align: top">`,
          `<label for="${id}${field}" ${style} data-i18n="${type}.label.${labelKey ?? field}"></label>`,
          ...(after ? [after] : []),
        ]);
      }
      case 'textarea': {
        const [field, icon, ...attrs] = args;
        return row([label(field, icon), `<textarea id="${id}${field}"${attrs.length ? ' ' + attrs.join(' ') : ''}></textarea>`]);
      }
      case 'tip':
        return `${indent}<div class="form-tips" style="margin-bottom: 12px" data-i18n="[html]${type}.tip.${args[0]}"></div>`;
      default:
        throw new Error(`${type}: unknown editor row @${macro}`);
    }
  });
}

/** `words | html` → ['words', 'html']. */
function splitTrailing(rest) {
  const bar = rest.indexOf(' | ');
  return bar < 0 ? [rest.trim(), ''] : [rest.slice(0, bar).trim(), rest.slice(bar + 3).trim()];
}

/** Removes `name=value` from `args` and returns the value (undefined when absent). */
function takeOption(args, name) {
  const index = args.findIndex((a) => a.startsWith(name + '='));
  if (index < 0) return undefined;
  const [word] = args.splice(index, 1);
  return word.slice(name.length + 1).replace(/^"|"$/g, '');
}

/** Expands the rows of every dialog template in one node's HTML file. */
function assembleDialogs(html, lists) {
  const isConfig = /category:\s*'config'/.test(html);
  return html.replace(/(<script type="text\/html" data-template-name="([\w-]+)">)([\s\S]*?)(<\/script>)/g, (all, open, type, body, close) => open + expandRows(body, type, lists, isConfig) + close);
}

module.exports = { assembleDialogs, expandRows };
