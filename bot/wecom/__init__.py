"""The WeCom (企业微信) channel's platform side: the API client and the callback endpoint.

What members see is composed by the handlers (handlers/channel/wecom.py); this package only
talks to WeCom: it receives and stores callbacks (`callback`) and calls the server API over
aiohttp (`client`).
"""

WECOM = "wecom"
