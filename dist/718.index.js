export const id = 718;
export const ids = [718];
export const modules = {

/***/ 7718:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   post: () => (/* binding */ post)
/* harmony export */ });
/* harmony import */ var _engine_ssh_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3096);
/* harmony import */ var _actions_core_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7119);
/* harmony import */ var _log_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8592);
/* harmony import */ var _state_helper_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(560);
// The post step: close the ssh master connection and delete the key, known_hosts and socket.
// Runs even when main failed or crashed (post-if: always()).




async function post() {
    const states = (0,_state_helper_js__WEBPACK_IMPORTED_MODULE_3__/* .loadSshStates */ .Hw)();
    if (states.length === 0) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_1__/* .info */ .pq('nothing to clean up (local transport, or main stopped before connecting)');
        return;
    }
    // One per host with several hosts; each has its own master connection and key copy.
    for (const state of states) {
        await (0,_engine_ssh_js__WEBPACK_IMPORTED_MODULE_0__/* .closeSsh */ .Vh)(state.dir, state.config, state.control, state.host, new _log_js__WEBPACK_IMPORTED_MODULE_2__/* .ActionReporter */ .Uy());
        _actions_core_js__WEBPACK_IMPORTED_MODULE_1__/* .info */ .pq(`closed the ssh connection and removed ${state.dir}`);
    }
}


/***/ })

};
