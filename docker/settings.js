// Node-RED settings for the qumulo-flow Docker image. Everything secret comes from the
// environment; the rest are Node-RED's defaults made explicit.
module.exports = {
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
