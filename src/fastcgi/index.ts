export { createFastCgiGateway, type FastCgiGatewayOptions } from './fastcgi-gateway.js';
