import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { assetAnswer, builtPage, indexAnswer } from '../shared/ui/pageAssets';
import { FunctionDefinition } from './definition';

/** The web page at "/": the Functions host routes the root only through an empty optional value. */
export const page: FunctionDefinition = {
  kind: 'http',
  name: 'page',
  options: {
    methods: ['GET', 'HEAD'],
    route: '{page:maxlength(0)?}',
    authLevel: 'anonymous',
    handler: async (): Promise<HttpResponseInit> => indexAnswer(builtPage()),
  },
};

export const pageAsset: FunctionDefinition = {
  kind: 'http',
  name: 'pageAsset',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'assets/{name}',
    authLevel: 'anonymous',
    handler: async (request: HttpRequest): Promise<HttpResponseInit> =>
      assetAnswer(builtPage(), request.params.name ?? ''),
  },
};
