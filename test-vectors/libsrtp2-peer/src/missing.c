/* The shim's functions when libsrtp2 is not installed: every session refuses to start
 * (status 1, srtp_err_status_fail), so nothing is ever protected by a stand-in. */
int peer_init(void) { return 1; }
int peer_create(void **out, int profile, const unsigned char *key_salt, int inbound,
                unsigned long window) {
    (void)profile; (void)key_salt; (void)inbound; (void)window;
    *out = 0;
    return 1;
}
int peer_protect(void *s, void *buf, int *len) { (void)s; (void)buf; (void)len; return 1; }
int peer_unprotect(void *s, void *buf, int *len) { (void)s; (void)buf; (void)len; return 1; }
int peer_protect_rtcp(void *s, void *buf, int *len) { (void)s; (void)buf; (void)len; return 1; }
int peer_unprotect_rtcp(void *s, void *buf, int *len) { (void)s; (void)buf; (void)len; return 1; }
void peer_dealloc(void *s) { (void)s; }
