// Node-RED settings for the qumulo-flow Docker image. Everything secret comes from the
// environment; the rest are Node-RED's defaults made explicit.
//
// The editor and admin API can deploy flows that act on the cluster with its credentials, so they
// need a login. Set one of:
//   NODE_RED_ADMIN_USER + NODE_RED_ADMIN_PASSWORD_HASH   a bcrypt hash, made with
//     docker compose run --rm --entrypoint node node-red -e "console.log(require('bcryptjs').hashSync(process.argv[1], 10))" 'the password'
//   NODE_RED_ADMIN_USER + NODE_RED_ADMIN_PASSWORD        plain text, hashed here at start
// or QUMULO_FLOW_LOCAL_ONLY=1 to run without a login; the editor then listens on 127.0.0.1 only
// (inside a container that means: reachable only from the container itself, e.g. `docker exec`,
// or with host networking). Without either, Node-RED refuses to start.
'use strict';

const LOCAL_ONLY = /^(1|true|yes)$/i.test(process.env.QUMULO_FLOW_LOCAL_ONLY || '');

function adminAuth() {
    const user = (process.env.NODE_RED_ADMIN_USER || '').trim();
    const hash = (process.env.NODE_RED_ADMIN_PASSWORD_HASH || '').trim();
    const password = process.env.NODE_RED_ADMIN_PASSWORD || '';
    if (!user && !hash && !password) {
        if (LOCAL_ONLY) return undefined;
        throw new Error(
            'qumulo-flow: no editor login configured. Set NODE_RED_ADMIN_USER and NODE_RED_ADMIN_PASSWORD_HASH ' +
            '(a bcrypt hash; the README says how to make one) or NODE_RED_ADMIN_PASSWORD, ' +
            'or set QUMULO_FLOW_LOCAL_ONLY=1 to run without a login on 127.0.0.1 only.'
        );
    }
    if (!user) throw new Error('qumulo-flow: NODE_RED_ADMIN_USER is empty (the password is set)');
    if (!hash && !password) throw new Error('qumulo-flow: NODE_RED_ADMIN_PASSWORD_HASH or NODE_RED_ADMIN_PASSWORD is empty');
    if (hash && !/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) {
        throw new Error('qumulo-flow: NODE_RED_ADMIN_PASSWORD_HASH is not a bcrypt hash ($2b$10$ followed by 53 characters)');
    }
    // bcryptjs ships with Node-RED (its own login check uses it).
    const passwordHash = hash || require('bcryptjs').hashSync(password, 10);
    return {
        type: 'credentials',
        users: [{ username: user, password: passwordHash, permissions: '*' }],
    };
}

const settings = {
    flowFile: 'flows.json',
    flowFilePretty: true,
    // Encrypts flows_cred.json. Without it Node-RED generates a key inside /data and warns.
    credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,
    uiPort: process.env.PORT || 1880,
    // Close handlers of qumulo nodes finish well inside this (they hand subscriptions over).
    nodeCloseTimeout: 15000,
    logging: {
        console: { level: process.env.NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false }
    },
    exportGlobalContextKeys: false,
    externalModules: {},
    editorTheme: {
        projects: { enabled: false },
        palette: {}
    },
    functionExternalModules: true,
    debugMaxLength: 1000,
    mqttReconnectTime: 15000,
    serialReconnectTime: 15000
};

const auth = adminAuth();
if (auth) settings.adminAuth = auth;
if (LOCAL_ONLY) settings.uiHost = '127.0.0.1';

module.exports = settings;
